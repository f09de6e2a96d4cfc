-- personae_json_number, faster. Postgres's regex engine is slow on bounded repetitions such as
-- [0-9]{1,255}: a property filter like `total > 100` spent most of its time there (6x a plain
-- cast). Digits are now matched with + and the string's length is capped instead, which keeps the
-- guarantee that every accepted string converts to a finite double. JSON numbers are taken as they
-- are unless they lie beyond double precision. src/audiences/language/audience-values.ts applies
-- the same rules for the reference evaluator.
CREATE OR REPLACE FUNCTION personae_json_number(value jsonb) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE jsonb_typeof(value)
    WHEN 'number' THEN
      CASE WHEN abs((value #>> '{}')::numeric) < 1e308 THEN (value #>> '{}')::double precision END
    WHEN 'string' THEN
      CASE
        WHEN length(value #>> '{}') <= 300 AND (value #>> '{}') ~ '^-?[0-9]+(\.[0-9]+)?$'
        THEN (value #>> '{}')::double precision
      END
  END;
