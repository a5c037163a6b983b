import uuid
from datetime import date

from sqlalchemy import Date, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from school_monitor.db import Base


class DailyFigures:
    """Running aggregates of one day, updated with arithmetic as data arrives.

    Sums (not means) are stored so that increments commute: concurrent batches add up
    whatever their order, and the mean is sum / count on read.
    """

    measurement_count: Mapped[int] = mapped_column(Integer, default=0)
    download_sum: Mapped[float] = mapped_column(Float, default=0.0)
    download_min: Mapped[float | None] = mapped_column(Float)
    download_max: Mapped[float | None] = mapped_column(Float)
    upload_sum: Mapped[float] = mapped_column(Float, default=0.0)
    upload_min: Mapped[float | None] = mapped_column(Float)
    upload_max: Mapped[float | None] = mapped_column(Float)
    latency_sum: Mapped[float] = mapped_column(Float, default=0.0)
    latency_min: Mapped[float | None] = mapped_column(Float)
    latency_max: Mapped[float | None] = mapped_column(Float)
    ping_count: Mapped[int] = mapped_column(Integer, default=0)
    ping_connected_count: Mapped[int] = mapped_column(Integer, default=0)


class SchoolDaily(DailyFigures, Base):
    __tablename__ = "school_daily"

    school_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    country_iso3: Mapped[str] = mapped_column(String(3))


class CountryDaily(DailyFigures, Base):
    __tablename__ = "country_daily"

    country_iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    schools_reporting: Mapped[int] = mapped_column(Integer, default=0)


class CountryStats(Base):
    """Per-country counters kept by every status change, so that the country summary and
    the metric gauges read one row instead of scanning the schools."""

    __tablename__ = "country_stats"

    country_iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    schools_total: Mapped[int] = mapped_column(Integer, default=0)
    good: Mapped[int] = mapped_column(Integer, default=0)
    moderate: Mapped[int] = mapped_column(Integer, default=0)
    bad: Mapped[int] = mapped_column(Integer, default=0)
    unknown: Mapped[int] = mapped_column(Integer, default=0)
    with_data: Mapped[int] = mapped_column(Integer, default=0)
    download_sum: Mapped[float] = mapped_column(Float, default=0.0)
    upload_sum: Mapped[float] = mapped_column(Float, default=0.0)
    latency_sum: Mapped[float] = mapped_column(Float, default=0.0)
