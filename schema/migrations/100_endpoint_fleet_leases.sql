-- Endpoint limits shared by every worker process (docs/decisions/fleet-endpoint-limits.md).
-- One row per endpoint (keyed by a hash of protocol, URL and model: no URL, so no credential or
-- query string, is stored; `label` is the credential-free name the worker's /metrics shows), locked
-- by each grant, and one lease per worker holding a share of its declared maxConcurrency and maxRps.
-- Leases expire: a worker renews its own every second or so, and a dead worker's share returns
-- once its lease is past expires_at. The grant logic is domain/fleet/share.ts.
CREATE TABLE endpoint_fleet (
  endpoint_key text PRIMARY KEY,
  label        text NOT NULL
);

CREATE TABLE endpoint_leases (
  endpoint_key         text NOT NULL REFERENCES endpoint_fleet(endpoint_key) ON DELETE CASCADE,
  worker_id            text NOT NULL,
  declared_concurrency integer NOT NULL CHECK (declared_concurrency >= 1),
  declared_rps         double precision NOT NULL DEFAULT 0 CHECK (declared_rps >= 0),
  demand_concurrency   integer NOT NULL CHECK (demand_concurrency >= 0),
  demand_rps           double precision NOT NULL CHECK (demand_rps >= 0),
  concurrency          integer NOT NULL CHECK (concurrency >= 0),
  rps                  double precision NOT NULL CHECK (rps >= 0),
  renewed_at           timestamptz NOT NULL DEFAULT now(),
  expires_at           timestamptz NOT NULL,
  PRIMARY KEY (endpoint_key, worker_id)
);
CREATE INDEX endpoint_leases_worker ON endpoint_leases (worker_id);
