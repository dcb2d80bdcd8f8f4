-- Run once by the postgres image on an empty data volume (docker-compose.yml).
-- The image creates POSTGRES_DB (evalgate); the tests use their own database.
CREATE DATABASE evalgate_test;
