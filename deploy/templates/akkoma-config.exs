# Written by roost (${service}). Changes here are replaced on the next deploy.
# The secrets (secret_key_base, signing salts, the JWT signer, the web push keys) are in
# ${secrets}, written by roost from its key vault and readable only by root and ${user}.
import Config

config :pleroma, Pleroma.Web.Endpoint,
  url: [host: "${domain}", scheme: "https", port: 443],
  http: [ip: {127, 0, 0, 1}, port: ${port}]

config :pleroma, :instance,
  name: "${domain}",
  email: "${email}",
  notify_email: "${email}",
  limit: 5000,
  registrations_open: false,
  static_dir: "${data}/static"

config :pleroma, :media_proxy,
  enabled: false,
  redirect_on_failure: true

# PostgreSQL over its Unix socket with peer authentication: the system user ${user} is the
# database role ${user}, so there is no database password at all.
config :pleroma, Pleroma.Repo,
  adapter: Ecto.Adapters.Postgres,
  username: "${user}",
  database: "${user}",
  socket_dir: "/var/run/postgresql"

config :web_push_encryption, :vapid_details, subject: "mailto:${email}"

config :pleroma, :database, rum_enabled: false
config :pleroma, Pleroma.Uploaders.Local, uploads: "${data}/uploads"
config :pleroma, Pleroma.Upload, base_url: "https://${domain}/media"
config :pleroma, configurable_from_database: false

import_config "${secrets}"
