-- Functions the audience compiler (src/audiences/language/compiler) calls to read JSON values in
-- traits and event properties as numbers and instants. They return NULL rather than raise an error
-- on anything else, so that one odd value can never fail the computation of a whole audience.
-- src/audiences/language/audience-values.ts implements the same rules for the reference evaluator;
-- audience-values.spec.ts checks that both use the same patterns.
-- No new index: audience queries use events(workspace_id, profile_id, name, timestamp),
-- events(workspace_id, profile_id, timestamp), profiles(workspace_id, last_seen_at|first_seen_at)
-- and the keys of audiences and audience_members, which the init migration creates.

-- A JSON number, or a JSON string such as "42" or "-0.5" (no exponent, at most 255 digits a side,
-- so the conversion to double precision cannot overflow). Inlined by the planner.
CREATE FUNCTION personae_json_number(value jsonb) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE
    WHEN jsonb_typeof(value) IN ('number', 'string')
      AND (value #>> '{}') ~ '^-?[0-9]{1,255}(\.[0-9]{1,255})?$'
    THEN (value #>> '{}')::double precision
  END;

-- A JSON string holding an ISO 8601 date or date-time (2026-01-31, 2026-01-31T10:00:00.123+05:30,
-- space instead of T, Z or ±HH[:]MM offset, UTC when there is none). Built arithmetically rather
-- than by a text cast so that an impossible date such as 2026-02-30 gives NULL, not an error, and
-- the result does not depend on the session's TimeZone or DateStyle.
CREATE FUNCTION personae_json_instant(value jsonb) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (
    SELECT CASE
      WHEN extract(month FROM make_date(m[1]::int, m[2]::int, 1) + (m[3]::int - 1)) = m[2]::int
      THEN (
        (make_date(m[1]::int, m[2]::int, 1) + (m[3]::int - 1))::timestamp
        + make_interval(hours => coalesce(m[4]::int, 0), mins => coalesce(m[5]::int, 0))
        + round(coalesce(m[6]::numeric, 0) * 1000)::bigint * interval '1 millisecond'
        - CASE
            WHEN m[7] IS NULL OR m[7] = 'Z' THEN interval '0'
            ELSE CASE WHEN left(m[7], 1) = '-' THEN -1 ELSE 1 END
              * make_interval(hours => substr(m[7], 2, 2)::int, mins => right(m[7], 2)::int)
          END
      ) AT TIME ZONE 'UTC'
    END
    FROM regexp_match(
      value #>> '{}',
      '^([1-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(?:[T ]([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9](?:\.[0-9]{1,3})?))?(Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?)?$'
    ) AS m
    WHERE jsonb_typeof(value) = 'string'
  );
