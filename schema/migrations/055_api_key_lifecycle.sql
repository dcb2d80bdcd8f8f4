-- API keys that can be issued, rotated, revoked and expire (API.md "Trust": keys).
-- key_prefix held the first characters of each key in clear (8 characters of the bootstrap
-- token, which an operator chose); a key is now named by its key_id and nothing of it is
-- stored but its hash.
ALTER TABLE api_keys
  DROP COLUMN key_prefix,
  ADD COLUMN expires_at timestamptz,
  ADD COLUMN created_by uuid REFERENCES principals(principal_id),
  -- the key EVALGATE_BOOTSTRAP_TOKEN ensures; a new token revokes the previous one
  ADD COLUMN bootstrap  boolean NOT NULL DEFAULT false;

UPDATE api_keys SET bootstrap = true
 WHERE principal_id IN (SELECT principal_id FROM principals WHERE name = 'bootstrap-admin');

CREATE INDEX api_keys_principal ON api_keys (principal_id, created_at);
