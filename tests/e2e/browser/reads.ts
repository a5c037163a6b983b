// A front-end page reading every read endpoint of the API through the generated client
// (clients/typescript): each call is checked by `tsc --strict` against the merged OpenAPI
// document, and each answer is rendered as `<status> <path called> <what the page shows>`
// in a <pre> named by the operation's id, for tests/e2e/test_browser_cors.py to read.
import { createC2rClient, ok, ProblemError } from "../../../clients/typescript/src/index";

/** What tests/e2e/browser/seed.py made, as the page's seed.json gives it. */
interface Seed {
  api: string;
  token: string;
  build_key: string;
  assessment: string;
  indicator: string;
  methodology: number;
  rescoring_version: number;
  partner: string;
  call: string;
  request: string;
  session: string;
  reviewer_token: string;
  review: string;
  subscription: string;
  assessment_subscription: string;
  request_subscription: string;
  school: string;
  giga_id: string;
  government_id: string;
  agent: string;
  deployment_key: string;
  installation_id: string;
  hardware_id: string;
  ip: string;
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

const seed: Seed = await (await fetch("./seed.json")).json();
// A reader of the platform (JWT), and the Giga Meter build's static key for its routes.
const api = createC2rClient({ baseUrl: seed.api, token: seed.token });
const agent = createC2rClient({ baseUrl: seed.api, token: seed.build_key });
// A reviewer assigned to the request (its queue, its review, the evidence it may read),
// and a visitor without a token (the public feed of open calls).
const reviewer = createC2rClient({ baseUrl: seed.api, token: seed.reviewer_token });
const visitor = createC2rClient({ baseUrl: seed.api });

const render = (id: string, text: string): void => {
  const pre = document.createElement("pre");
  pre.id = id;
  pre.textContent = text;
  document.body.append(pre);
};

const read = async <T>(
  operationId: string,
  call: () => Promise<Answer<T>>,
  show: (data: T) => unknown,
): Promise<void> => {
  try {
    const answer = await call();
    const path = new URL(answer.response.url).pathname;
    render(operationId, `${answer.response.status} ${path} ${String(show(ok(answer)))}`);
  } catch (error) {
    render(
      operationId,
      error instanceof ProblemError
        ? `problem ${error.status} ${error.problem.title}: ${error.problem.detail ?? ""}`
        : `failed ${String(error)}`,
    );
  }
};

const assessment = { path: { assessment_id: seed.assessment } };
const school = { path: { school_id: seed.school } };
const request = { path: { request_id: seed.request } };
const review = { path: { review_id: seed.review } };
const subscription = { path: { subscription_id: seed.subscription } };
const assessmentSubscription = { path: { subscription_id: seed.assessment_subscription } };
const requestSubscription = { path: { subscription_id: seed.request_subscription } };
const codes = (items: { iso3: string }[]): string => items.map((c) => c.iso3).join(",");

const reads: Promise<void>[] = [
  // assessment-api: countries, methodologies, assessments, scores, reports, programmes
  read("countries_list",
    () => api.GET("/v1/countries", { params: { query: { c2r_beneficiary: true, limit: 500 } } }),
    (page) => page.items.some((country) => country.iso3 === "RWA")),
  read("countries_get", () => api.GET("/v1/countries/{iso3}", { params: { path: { iso3: "RWA" } } }),
    (country) => `${country.name} ldc=${country.ldc} beneficiary=${country.c2r_beneficiary}`),
  read("countries_list_beneficiaries", () => api.GET("/v1/countries/beneficiaries"),
    (page) => page.items.filter((b) => b.country_iso3 === "RWA").map((b) => b.source).join(",")),
  read("methodologies_list", () => api.GET("/v1/methodologies"),
    (page) => page.items.some((methodology) => methodology.version === seed.methodology)),
  read("methodologies_get_latest", () => api.GET("/v1/methodologies/latest"),
    (methodology) => `v${methodology.version}`),
  read("methodologies_get",
    () => api.GET("/v1/methodologies/{version}", { params: { path: { version: seed.methodology } } }),
    (methodology) => `v${methodology.version} ${methodology.indicator_count}`),
  read("assessments_list",
    () => api.GET("/v1/assessments", { params: { query: { country_iso3: "NPL" } } }),
    (page) => page.items.some((a) => a.id === seed.assessment)),
  read("assessments_get",
    () => api.GET("/v1/assessments/{assessment_id}", { params: assessment }),
    (found) => `${found.country_iso3} ${found.period} ${found.status}`),
  read("assessments_audit_trail",
    () => api.GET("/v1/assessments/{assessment_id}/audit", { params: assessment }),
    (page) => page.items.map((event) => event.action).join(",")),
  read("indicators_list_values",
    () => api.GET("/v1/assessments/{assessment_id}/indicators", { params: assessment }),
    (values) => values.filter((v) => v.value !== null).map((v) => `${v.code}=${v.value}`).sort().join(",")),
  read("indicators_history",
    () => api.GET("/v1/assessments/{assessment_id}/indicators/{code}/history",
      { params: { path: { assessment_id: seed.assessment, code: seed.indicator } } }),
    (page) => page.items.map((change) => `${change.indicator_code}=${change.value}`).join(",")),
  read("scores_get",
    () => api.GET("/v1/assessments/{assessment_id}/scores", { params: assessment }),
    (scores) => `overall=${scores.overall} band=${scores.band}`),
  read("scores_get_gaps",
    () => api.GET("/v1/assessments/{assessment_id}/gaps", { params: assessment }),
    (gaps) => gaps.gaps[0]?.code),
  read("scores_preview_rescoring",
    () => api.GET("/v1/assessments/{assessment_id}/rescoring",
      { params: { ...assessment, query: { methodology_version: seed.rescoring_version } } }),
    (preview) => `${preview.from_version === seed.methodology}`
      + ` ${preview.to_version === seed.rescoring_version}`
      + ` change=${preview.overall_change} band_changed=${preview.band_changed}`),
  read("assessment_notifications_list_subscriptions", () => api.GET("/v1/assessments/subscriptions"),
    (page) => page.items.some((found) => found.id === seed.assessment_subscription)),
  read("assessment_notifications_get_subscription",
    () => api.GET("/v1/assessments/subscriptions/{subscription_id}", { params: assessmentSubscription }),
    (found) => `${found.event_types.join(",")} ${found.countries?.join(",")} ${found.status}`),
  read("assessment_notifications_list_deliveries",
    () => api.GET("/v1/assessments/subscriptions/{subscription_id}/deliveries",
      { params: assessmentSubscription }),
    (page) => page.items.every((delivery) => delivery.event_type.endsWith("assessment.completed"))),
  read("reports_compare_countries",
    () => api.GET("/v1/assessments/compare",
      { params: { query: { countries: "NPL,MRT", include_in_progress: true } } }),
    (comparison) => `rows=${comparison.rows.map((row) => row.country_iso3).join(",")}`
      + ` not_assessed=${comparison.not_assessed.join(",")}`),
  read("reports_regional_aggregates", () => api.GET("/v1/assessments/regions"),
    (aggregates) => aggregates.regions.map((region) => region.itu_region).join(",")),
  read("reports_latest_scores",
    () => api.GET("/v1/assessments/latest-scores", { params: { query: { include_in_progress: true } } }),
    (rows) => typeof rows !== "string" && rows.some((row) => row.assessment_id === seed.assessment)),
  read("reports_export_assessment",
    () => api.GET("/v1/assessments/{assessment_id}/export", { params: assessment }),
    (exported) => typeof exported === "string" ? "csv"
      : `${exported.assessment.country_name} ${exported.assessment.period}`),
  read("reports_country_scores",
    () => api.GET("/v1/countries/{iso3}/scores",
      { params: { path: { iso3: "NPL" }, query: { include_in_progress: true } } }),
    (series) => `${series.country_iso3} ${series.series.length}`),
  read("programmes_list", () => api.GET("/v1/programmes"),
    (page) => page.items.some((programme) => programme.country.iso3 === "NPL")),
  read("programmes_get", () => api.GET("/v1/programmes/{iso3}", { params: { path: { iso3: "RWA" } } }),
    (programme) => `${programme.country.name} ${programme.phases.map((p) => p.phase).join(",")}`),
  // request-intake: partners, contributions, calls, requests, sessions, reports, outbox, SLA
  read("partners_list", () => api.GET("/v1/partners"),
    (page) => page.items.some((partner) => partner.id === seed.partner)),
  read("partners_get",
    () => api.GET("/v1/partners/{partner_id}", { params: { path: { partner_id: seed.partner } } }),
    (partner) => `${partner.kind} ${partner.country_iso3} founding=${partner.founding}`),
  read("partners_list_contributions",
    () => api.GET("/v1/contributions", { params: { query: { partner_id: seed.partner } } }),
    (page) => page.items.map((c) => `${c.amount} ${c.currency}`).join(",")),
  read("partners_contribution_totals", () => api.GET("/v1/contributions/totals"),
    (totals) => totals.totals.filter((t) => t.key === seed.partner).map((t) => `${t.total} ${t.currency}`).join(",")),
  read("calls_list", () => api.GET("/v1/calls"),
    (page) => page.items.some((call) => call.id === seed.call)),
  read("calls_list_open", () => api.GET("/v1/calls/open"),
    (page) => page.items.some((call) => call.id === seed.call)),
  read("calls_get", () => api.GET("/v1/calls/{call_id}", { params: { path: { call_id: seed.call } } }),
    (call) => `${call.title} ${call.eligible_regions.join(",")}`),
  read("calls_open_feed", () => visitor.GET("/v1/calls/feed"),
    (feed) => feed.calls.filter((call) => call.id === seed.call).map((call) => call.time_zone).join(",")),
  read("reviews_get_form",
    () => api.GET("/v1/calls/{call_id}/review-form", { params: { path: { call_id: seed.call } } }),
    (form) => `${form.criteria.map((c) => `${c.code}:${c.weight}`).join(",")} required=${form.reviews_required}`),
  read("requests_list", () => api.GET("/v1/requests", { params: { query: { call_id: seed.call } } }),
    (page) => page.items.map((request) => `${request.country_iso3}:${request.status}`).join(",")),
  read("requests_get",
    () => api.GET("/v1/requests/{request_id}", { params: { path: { request_id: seed.request } } }),
    (request) => `${request.requesting_entity} ${request.status}`),
  read("requests_list_transitions",
    () => api.GET("/v1/requests/{request_id}/transitions",
      { params: { path: { request_id: seed.request } } }),
    (page) => page.items.map((event) => event.to_status).join(",")),
  read("reports_request",
    () => api.GET("/v1/requests/reports", { params: { query: { call_id: seed.call } } }),
    (report) => `total=${report.total}`),
  read("reports_request_csv",
    () => api.GET("/v1/requests/reports/csv",
      { params: { query: { call_id: seed.call } }, parseAs: "text" }),
    (csv) => csv.split(/\r?\n/)[0]),
  read("request_notifications_list_subscriptions", () => api.GET("/v1/requests/subscriptions"),
    (page) => page.items.some((found) => found.id === seed.request_subscription)),
  read("request_notifications_get_subscription",
    () => api.GET("/v1/requests/subscriptions/{subscription_id}", { params: requestSubscription }),
    (found) => `${found.event_types.join(",")} ${found.countries?.join(",")} ${found.status}`),
  read("request_notifications_list_deliveries",
    () => api.GET("/v1/requests/subscriptions/{subscription_id}/deliveries",
      { params: requestSubscription }),
    (page) => page.items.every((delivery) => delivery.event_type.endsWith("request.info_requested"))),
  read("outbox_summary", () => api.GET("/v1/requests/outbox/summary"),
    (summary) => `failed=${summary.failed}`),
  read("outbox_list", () => api.GET("/v1/requests/outbox"), (page) => `items=${page.items.length}`),
  read("sla_list_overdue", () => api.GET("/v1/requests/overdue"),
    (page) => page.items.some((request) => request.id === seed.request)),
  read("sla_overdue_summary", () => api.GET("/v1/requests/overdue/summary"),
    (summary) => Object.keys(summary.by_stage).sort().join(",")),
  read("sla_list_reminders", () => api.GET("/v1/requests/reminders"),
    (reminders) => reminders.items.some((reminder) => reminder.request_id === seed.request)),
  read("sla_list_warnings", () => api.GET("/v1/requests/sla/warnings"),
    (warnings) => warnings.items.every((w) => w.state === "warning" || w.state === "breached")
      && !warnings.items.some((w) => w.request_id === seed.request)),  // just screened
  read("sla_get_request", () => api.GET("/v1/requests/{request_id}/sla", { params: request }),
    (sla) => sla.clocks.map((clock) => `${clock.stage ?? clock.target}:${clock.state}`).join(",")),
  read("reports_sla",
    () => api.GET("/v1/requests/reports/sla", { params: { query: { call_id: seed.call } } }),
    (report) => report.rows.map((row) => `${row.stage ?? row.target}:${row.met}/${row.missed}/${row.open}`)
      .sort().join(",")),
  // the request's reviewers and reviews: the admin approves, the reviewer reads its own
  read("reviews_list_reviewers",
    () => api.GET("/v1/requests/{request_id}/reviewers", { params: request }),
    (assignments) => assignments.map((a) => `${a.role}:${a.review_id !== null}`).sort().join(",")),
  read("reviews_get_board", () => api.GET("/v1/requests/{request_id}/reviews", { params: request }),
    (board) => `submitted=${board.reviews_submitted} missing=${board.reviews_missing}`
      + ` yes=${board.aggregate.recommendations.yes} maybe=${board.aggregate.recommendations.maybe}`),
  read("reviews_my_queue", () => reviewer.GET("/v1/reviews/mine"),
    (queue) => queue.items.map((item) => `${item.request_id === seed.request}:${item.review_id === seed.review}`).join(",")),
  read("reviews_get", () => reviewer.GET("/v1/reviews/{review_id}", { params: review }),
    (found) => `${found.role} revision=${found.revision} ${found.recommendation}`),
  read("reviews_list_revisions",
    () => reviewer.GET("/v1/reviews/{review_id}/revisions", { params: review }),
    (page) => page.items.map((r) => `${r.revision}:${r.scores.feasibility}`).join(",")),
  read("evidence_get", () => reviewer.GET("/v1/requests/{request_id}/evidence", { params: request }),
    (pack) => `${pack.country_iso3} connectivity=${pack.connectivity.status}`),
  read("sessions_list", () => api.GET("/v1/sessions"),
    (page) => page.items.some((session) => session.id === seed.session)),
  read("sessions_get",
    () => api.GET("/v1/sessions/{session_id}", { params: { path: { session_id: seed.session } } }),
    (session) => `${session.held_on} member_states=${session.member_state_count}`),
  // school-monitor: schools, measurements, agents, deployment keys, connectivity, alerts
  read("schools_list", () => api.GET("/v1/schools", { params: { query: { country: "RWA" } } }),
    (page) => page.items.some((found) => found.id === seed.school)),
  read("schools_geojson", () => api.GET("/v1/schools/geojson", { params: { query: { country: "RWA" } } }),
    (collection) => collection.features.some((feature) => feature.id === seed.school)),
  read("schools_get", () => api.GET("/v1/schools/{school_id}", { params: school }),
    (found) => `${found.name} ${found.government_id}`),
  read("schools_get_status", () => api.GET("/v1/schools/{school_id}/status", { params: school }),
    (status) => `${status.connectivity_status}`),
  read("schools_list_measurements",
    () => api.GET("/v1/schools/{school_id}/measurements", { params: school }),
    (page) => `items=${page.items.length}`),
  read("schools_daily", () => api.GET("/v1/schools/{school_id}/daily", { params: school }),
    (days) => days.reduce((sum, day) => sum + day.ping_count, 0) > 0),
  read("measurements_list_failed", () => api.GET("/v1/measurements/failed"),
    (page) => page.items.filter((failed) => failed.reason === "unknown_school").length > 0),
  read("measurements_list_flags", () => api.GET("/v1/measurements/flags"),
    (page) => page.items.filter((flag) => flag.school_id === seed.school).map((f) => f.kind).join(",")),
  read("agents_list", () => api.GET("/v1/agents", { params: { query: { school_id: seed.school } } }),
    (page) => page.items.map((found) => found.id === seed.agent).join(",")),
  read("agents_get", () => api.GET("/v1/agents/{agent_id}", { params: { path: { agent_id: seed.agent } } }),
    (found) => `${found.hardware_id === seed.hardware_id} ${found.app_version}`),
  read("agents_list_deployment_keys", () => api.GET("/v1/agents/deployment-keys"),
    (page) => page.items.some((key) => key.id === seed.deployment_key)),
  read("agents_get_deployment_key",
    () => api.GET("/v1/agents/deployment-keys/{key_id}",
      { params: { path: { key_id: seed.deployment_key } } }),
    (key) => `${key.countries.join(",")} hint=${key.key_hint === seed.build_key.slice(-4)}`),
  read("connectivity_country_summary",
    () => api.GET("/v1/connectivity/countries/{iso3}", { params: { path: { iso3: "RWA" } } }),
    (summary) => `${summary.iso3} reporting=${summary.schools_reporting_24h > 0}`),
  read("connectivity_country_daily",
    () => api.GET("/v1/connectivity/countries/{iso3}/daily", { params: { path: { iso3: "RWA" } } }),
    (days) => days.length > 0),
  read("connectivity_region_summary",
    () => api.GET("/v1/connectivity/regions/{region}", { params: { path: { region: "Africa" } } }),
    (summary) => `${summary.region} ${codes(summary.countries).includes("RWA")}`),
  read("connectivity_verify_rollups",
    () => api.GET("/v1/connectivity/rollups/verify", { params: { query: { country: "RWA" } } }),
    (verified) => `exact=${verified.exact}`),
  read("alerts_list", () => api.GET("/v1/alerts", { params: { query: { school_id: seed.school } } }),
    (page) => page.items.map((alert) => alert.kind).join(",")),
  read("notifications_list_subscriptions", () => api.GET("/v1/alerts/subscriptions"),
    (page) => page.items.some((found) => found.id === seed.subscription)),
  read("notifications_get_subscription",
    () => api.GET("/v1/alerts/subscriptions/{subscription_id}", { params: subscription }),
    (found) => `${found.event_types.join(",")} ${found.countries?.join(",")} ${found.status}`),
  read("notifications_list_deliveries",
    () => api.GET("/v1/alerts/subscriptions/{subscription_id}/deliveries", { params: subscription }),
    (page) => page.items.every((delivery) => delivery.event_type.endsWith("school.below_benchmark"))),
  // The Giga Meter-compatible routes, as the agent (and Giga Maps) read them
  read("giga_meter_country_by_code",
    () => agent.GET("/api/v1/dailycheckapp_countries/{code}", { params: { path: { code: "RW" } } }),
    (answer) => answer.data.map((country) => country.name).join(",")),
  read("giga_meter_schools_by_government_id",
    () => agent.GET("/api/v1/schools/country_code_school_id/{country_code}/{school_id}",
      { params: { path: { country_code: "RW", school_id: seed.government_id } } }),
    (answer) => answer.data.map((found) => found.giga_id_school === seed.giga_id).join(",")),
  read("giga_meter_flags_by_id",
    () => agent.GET("/api/v1/schools/features_flags/{giga_id_school}",
      { params: { path: { giga_id_school: seed.giga_id } } }),
    (answer) => `pingService=${answer.data.pingService}`),
  read("giga_meter_flags_by_device",
    () => agent.GET("/api/v1/dailycheckapp_schools/features_flags",
      { params: { query: { mac_address: seed.installation_id } } }),
    (answer) => `pingService=${Array.isArray(answer.data) ? answer.data[0]?.pingService : answer.data.pingService}`),
  read("giga_meter_existing_installation",
    () => agent.GET("/api/v1/dailycheckapp_schools/checkExistingInstallation/{device_hardware_id}",
      { params: { path: { device_hardware_id: seed.hardware_id } } }),
    (answer) => `exists=${answer.data.exists} ${answer.data.user_id === seed.agent}`),
  read("giga_meter_device_status",
    () => agent.GET(
      "/api/v1/dailycheckapp_schools/checkDeviceStatus/{device_hardware_id}/{giga_id_school}",
      { params: { path: { device_hardware_id: seed.hardware_id, giga_id_school: seed.giga_id } } }),
    (answer) => `active=${answer.data.is_active}`),
  read("giga_meter_protocol_config",
    () => agent.GET("/api/v1/protocol-config/resolve",
      { params: { query: { gigaIdSchool: seed.giga_id, countryCode: "RW" } } }),
    (answer) => answer.data.measurementProviders?.join(",")),
  read("giga_meter_registered_devices",
    () => agent.GET("/api/v1/dailycheckapp_schools/{giga_id_school}",
      { params: { path: { giga_id_school: seed.giga_id } } }),
    (answer) => answer.data.map((device) => device.user_id === seed.agent).join(",")),
  read("giga_meter_flagged_schools",
    () => agent.GET("/api/v1/flagged_dailycheckapp_schools", { params: { query: { size: 100 } } }),
    (answer) => answer.data.filter((flagged) => flagged.giga_id_school === seed.giga_id)
      .map((flagged) => `${flagged.detected_country}/${flagged.selected_country}`).join(",")),
  read("giga_meter_data_fixes", () => agent.GET("/api/v1/dailycheckapp_data_fix"),
    (answer) => `success=${answer.success}`),
  read("giga_meter_data_fix",
    () => agent.GET("/api/v1/dailycheckapp_data_fix/{giga_id}", { params: { path: { giga_id: seed.giga_id } } }),
    (answer) => `fixes=${answer.data?.length}`),
  read("giga_meter_own_ip_metadata", () => agent.GET("/api/v1/ip-metadata"),
    (metadata) => metadata.source),
  read("giga_meter_ip_metadata",
    () => agent.GET("/api/v1/ip-metadata/{ip}", { params: { path: { ip: seed.ip } } }),
    (metadata) => `${metadata.ip} ${metadata.country}`),
  read("giga_meter_list_measurements",
    () => agent.GET("/api/v1/measurements",
      { params: { query: { giga_id_school: seed.giga_id, size: 100 } } }),
    (answer) => `measurements=${answer.data.length}`),
  read("giga_meter_list_measurements_of_school",
    () => agent.GET("/api/v1/measurements/school_id/{school_id}",
      { params: { path: { school_id: seed.government_id }, query: { size: 100 } } }),
    (answer) => `measurements=${answer.data.length}`),
  read("giga_meter_pull_measurements_v2",
    () => agent.GET("/api/v1/measurements/v2",
      { params: { query: { giga_id_school: seed.giga_id, size: 100 } } }),
    (rows) => `measurements=${rows.length}`),
  read("giga_meter_list_failed",
    () => agent.GET("/api/v1/measurements/failed", { params: { query: { size: 100 } } }),
    (answer) => answer.data.length > 0),
];
await Promise.allSettled(reads);
render("done", String(reads.length));
