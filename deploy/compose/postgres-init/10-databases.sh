#!/bin/sh
# One database per service, owned by a role of its own (a service reaches only its own
# database), and a monitoring role for the exporter. Run once by the postgres image, on an
# empty data directory; the passwords come from the container's environment.
set -eu
# compose.yaml pastes each password into its service's database URL, so one with a
# character that URL syntax gives a meaning to (@ : / % ? # ...) would break it: refused here.
url_safe() {  # name value
  case "$2" in
    *[!A-Za-z0-9._~-]*|'')
      echo "$1 may hold only letters, digits and . _ ~ - (openssl rand -hex 32)" >&2
      exit 1 ;;
  esac
}
url_safe C2R_ASSESSMENT_DB_PASSWORD "$C2R_ASSESSMENT_DB_PASSWORD"
url_safe C2R_INTAKE_DB_PASSWORD "$C2R_INTAKE_DB_PASSWORD"
url_safe C2R_SCHOOLS_DB_PASSWORD "$C2R_SCHOOLS_DB_PASSWORD"
create() {  # role database password
  psql -v ON_ERROR_STOP=1 -U postgres -d postgres \
    -v role="$1" -v db="$2" -v password="$3" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
}
create c2r_assessment c2r_assessment "$C2R_ASSESSMENT_DB_PASSWORD"
create c2r_intake c2r_intake "$C2R_INTAKE_DB_PASSWORD"
create c2r_schools c2r_schools "$C2R_SCHOOLS_DB_PASSWORD"
psql -v ON_ERROR_STOP=1 -U postgres -d postgres -v password="$C2R_EXPORTER_DB_PASSWORD" <<'SQL'
CREATE ROLE c2r_exporter LOGIN PASSWORD :'password';
GRANT pg_monitor TO c2r_exporter;
SQL
