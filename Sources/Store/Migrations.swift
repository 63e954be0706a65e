/// The schema, as plain SQL embedded in the binary. Migrations are applied in
/// order and never edited once released: add a new one instead (the migrator
/// refuses to start when an applied migration's text has changed).
public enum Migrations {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String

        public init(version: Int, name: String, sql: String) {
            self.version = version
            self.name = name
            self.sql = sql
        }
    }

    public static let all: [Migration] = [
        Migration(version: 1, name: "initial schema", sql: v1),
        Migration(version: 2, name: "log lines: integrity per statement, one index", sql: v2),
        Migration(version: 3, name: "backtest reports", sql: v3),
        Migration(version: 4, name: "progress nodes keep their tree order", sql: v4),
        Migration(version: 5, name: "idempotency keys belong to the token that used them", sql: v5),
        Migration(version: 6, name: "webhook notifications: subscriptions, outbox, attempts", sql: v6),
        Migration(version: 7, name: "signals keep their quality components as exact float8", sql: v7),
        Migration(version: 8, name: "fencing generations; idempotent event and log writes", sql: v8),
        Migration(version: 9, name: "signals carry their prior quality and triple-barrier outcome", sql: v9),
        Migration(version: 10, name: "delete and retention: pins, deletion marks, indexes led by experiment_id", sql: v10),
        Migration(version: 11, name: "sweeps: one child experiment per point of a parameter grid", sql: v11),
        Migration(version: 13, name: "experiments rows notify sf_experiments when they change or go", sql: v13),
    ]

    static let v1 = """
        CREATE TABLE datasets (
            id          uuid PRIMARY KEY,
            symbol      text NOT NULL,
            timeframe   text NOT NULL,
            path        text NOT NULL,
            size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
            row_count   bigint CHECK (row_count >= 0),
            first_ts    timestamptz,
            last_ts     timestamptz,
            sha256      text,
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX datasets_created_idx ON datasets (created_at DESC, id DESC);
        CREATE INDEX datasets_symbol_idx ON datasets (symbol, timeframe);

        CREATE TABLE experiments (
            id                uuid PRIMARY KEY,
            name              text NOT NULL,
            status            text NOT NULL CHECK (status IN ('queued', 'running', 'pausing', 'paused',
                                  'cancelling', 'succeeded', 'failed', 'cancelled', 'interrupted')),
            priority          text NOT NULL CHECK (priority IN ('high', 'medium', 'low')),
            priority_rank     smallint GENERATED ALWAYS AS
                                  (CASE priority WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END) STORED,
            request           jsonb NOT NULL,
            stage             text,
            percent           double precision NOT NULL DEFAULT 0 CHECK (percent >= 0 AND percent <= 100),
            error             text,
            completed_stages  text[] NOT NULL DEFAULT '{}',
            resume_from       text,
            lease_owner       text,
            lease_expires_at  timestamptz,
            created_at        timestamptz NOT NULL DEFAULT now(),
            started_at        timestamptz,
            finished_at       timestamptz,
            updated_at        timestamptz NOT NULL DEFAULT now()
        );
        -- Claiming work: highest priority, then oldest, among queued rows only.
        CREATE INDEX experiments_queue_idx ON experiments (priority_rank DESC, created_at, id) WHERE status = 'queued';
        -- Listing, newest first, optionally by status; cursor = (created_at, id).
        CREATE INDEX experiments_created_idx ON experiments (created_at DESC, id DESC);
        CREATE INDEX experiments_status_created_idx ON experiments (status, created_at DESC, id DESC);
        -- Finding expired leases of running work.
        CREATE INDEX experiments_lease_idx ON experiments (lease_expires_at)
            WHERE status IN ('running', 'pausing', 'cancelling');

        CREATE TABLE idempotency_keys (
            key            text PRIMARY KEY,
            request_hash   text NOT NULL,
            status_code    integer NOT NULL,
            response_body  bytea NOT NULL,
            experiment_id  uuid REFERENCES experiments (id) ON DELETE CASCADE,
            created_at     timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE pipeline_progress (
            experiment_id  uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
            node_path      text NOT NULL,
            parent_path    text,
            kind           text NOT NULL CHECK (kind IN ('pipeline', 'stage', 'step', 'substep')),
            name           text NOT NULL,
            status         text NOT NULL,
            units_done     bigint NOT NULL DEFAULT 0,
            units_total    bigint,
            percent        double precision NOT NULL DEFAULT 0,
            rate           double precision,
            eta_seconds    double precision,
            updated_at     timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (experiment_id, node_path)
        );

        CREATE TABLE pipeline_logs (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            experiment_id  uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
            ts             timestamptz NOT NULL,
            level          text NOT NULL,
            stage          text,
            message        text NOT NULL,
            fields         jsonb NOT NULL DEFAULT '{}'
        );
        -- History pages and live follow: by experiment, after a cursor id.
        CREATE INDEX pipeline_logs_experiment_idx ON pipeline_logs (experiment_id, id);
        CREATE INDEX pipeline_logs_stage_idx ON pipeline_logs (experiment_id, stage, id);

        CREATE TABLE pipeline_events (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            experiment_id  uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
            ts             timestamptz NOT NULL DEFAULT now(),
            kind           text NOT NULL,
            stage          text,
            from_status    text,
            to_status      text,
            duration_ms    double precision,
            details        jsonb NOT NULL DEFAULT '{}'
        );
        CREATE INDEX pipeline_events_experiment_idx ON pipeline_events (experiment_id, id);

        CREATE TABLE pipeline_metrics (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            experiment_id    uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
            ts               timestamptz NOT NULL,
            stage            text,
            rss_bytes        bigint,
            cpu_percent      double precision,
            rows_per_second  double precision
        );
        CREATE INDEX pipeline_metrics_experiment_idx ON pipeline_metrics (experiment_id, ts);

        CREATE TABLE signals (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            experiment_id  uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
            symbol         text NOT NULL,
            timeframe      text NOT NULL,
            ts             timestamptz NOT NULL,
            direction      text NOT NULL CHECK (direction IN ('long', 'short')),
            entry          double precision NOT NULL,
            stop           double precision NOT NULL,
            target         double precision NOT NULL,
            horizon_bars   integer NOT NULL,
            quality        double precision NOT NULL CHECK (quality >= 0 AND quality <= 1),
            accepted       boolean NOT NULL,
            components     jsonb NOT NULL,
            sources        jsonb NOT NULL DEFAULT '[]'
        );
        CREATE INDEX signals_experiment_idx ON signals (experiment_id, symbol, timeframe, ts, id);
        CREATE INDEX signals_accepted_idx ON signals (experiment_id, id) WHERE accepted;

        CREATE TABLE artifacts (
            experiment_id  uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
            name           text NOT NULL,
            format         text NOT NULL,
            path           text NOT NULL,
            size_bytes     bigint NOT NULL,
            sha256         text,
            row_count      bigint,
            created_at     timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (experiment_id, name)
        );
        """

    /// `pipeline_logs` takes up to hundreds of thousands of rows a second by
    /// COPY. A foreign key checks (and locks) the experiment once per row and
    /// halved that rate, so the same integrity is kept per statement instead:
    /// after each INSERT/COPY, the distinct experiment ids of the new rows are
    /// locked `FOR KEY SHARE` (as a foreign key would) and must all exist;
    /// deleting experiments deletes their lines (as `ON DELETE CASCADE` did).
    /// The stage filter of the history reads through `(experiment_id, id)`.
    static let v2 = """
        ALTER TABLE pipeline_logs DROP CONSTRAINT pipeline_logs_experiment_id_fkey;
        DROP INDEX pipeline_logs_stage_idx;

        CREATE FUNCTION sf_pipeline_logs_experiment_exists() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            wanted uuid[];
            found  integer;
        BEGIN
            SELECT array_agg(DISTINCT experiment_id) INTO wanted FROM new_rows;
            IF wanted IS NULL THEN RETURN NULL; END IF;
            SELECT count(*) INTO found FROM (SELECT 1 FROM experiments WHERE id = ANY (wanted) FOR KEY SHARE) AS locked;
            IF found <> cardinality(wanted) THEN
                RAISE EXCEPTION 'insert or update on table "pipeline_logs" violates foreign key to "experiments"'
                    USING ERRCODE = 'foreign_key_violation',
                          DETAIL = 'a log line names an experiment that does not exist';
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER pipeline_logs_experiment_exists AFTER INSERT ON pipeline_logs
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION sf_pipeline_logs_experiment_exists();

        CREATE FUNCTION sf_experiments_delete_logs() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM pipeline_logs WHERE experiment_id IN (SELECT id FROM old_rows);
            RETURN NULL;
        END $$;
        CREATE TRIGGER experiments_delete_logs AFTER DELETE ON experiments
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION sf_experiments_delete_logs();
        """

    /// The `analysis` stage's report, served by `GET /v1/experiments/{id}/report`.
    static let v3 = """
        CREATE TABLE reports (
            experiment_id  uuid PRIMARY KEY REFERENCES experiments (id) ON DELETE CASCADE,
            created_at     timestamptz NOT NULL DEFAULT now(),
            body           jsonb NOT NULL CHECK (jsonb_typeof(body) = 'object')
        );
        """

    /// The position of each node in the tree as the engine walked it (stages
    /// in pipeline order), so a stored tree reads back in that order.
    static let v4 = """
        ALTER TABLE pipeline_progress ADD COLUMN position integer NOT NULL DEFAULT 0;
        """

    /// Keys were global: another token holder could take a predictable key
    /// (`ci-<sha>`) first. Now the primary key is (token name, key). Rows from
    /// before get the empty name, the one a server without tokens uses; such a
    /// row is still honoured for whoever sends its key (see
    /// `ExperimentStore.create(…idempotencyKey:owner:…)`), so a CI retry across
    /// the upgrade never starts a second experiment.
    static let v5 = """
        ALTER TABLE idempotency_keys ADD COLUMN token_name text NOT NULL DEFAULT '';
        ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
        ALTER TABLE idempotency_keys ADD PRIMARY KEY (token_name, key);
        """

    /// Webhook notifications. A subscription belongs to one experiment (from
    /// its request's `notify`, or copied from the server-wide webhooks when it
    /// was created); its secret is stored here and nowhere else. A trigger on
    /// `pipeline_events` writes one outbox row per (event, subscription) in the
    /// transaction that records the event, so an event that happened is never
    /// lost and never doubled; instances claim due rows with `SKIP LOCKED` and
    /// hold them under a lease (`next_attempt_at`) while they deliver.
    static let v6 = """
        CREATE TABLE notification_subscriptions (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            experiment_id  uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
            source         text NOT NULL CHECK (source IN ('request', 'server')),
            position       integer NOT NULL,
            url            text NOT NULL,
            events         text[] NOT NULL,
            secret         text,
            created_at     timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX notification_subscriptions_experiment_idx ON notification_subscriptions (experiment_id);

        CREATE TABLE notification_deliveries (
            id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            experiment_id    uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
            subscription_id  bigint NOT NULL REFERENCES notification_subscriptions (id) ON DELETE CASCADE,
            event            text NOT NULL,
            event_id         bigint NOT NULL,
            occurred_at      timestamptz NOT NULL,
            status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
            attempts         integer NOT NULL DEFAULT 0,
            next_attempt_at  timestamptz NOT NULL DEFAULT now(),
            lease_owner      text,
            body             bytea,
            last_error       text,
            created_at       timestamptz NOT NULL DEFAULT now(),
            finished_at      timestamptz,
            UNIQUE (subscription_id, event_id)
        );
        -- Claiming: due pending rows, oldest first.
        CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at) WHERE status = 'pending';
        CREATE INDEX notification_deliveries_experiment_idx ON notification_deliveries (experiment_id, created_at, id);

        CREATE TABLE notification_attempts (
            delivery_id  uuid NOT NULL REFERENCES notification_deliveries (id) ON DELETE CASCADE,
            attempt      integer NOT NULL,
            started_at   timestamptz NOT NULL,
            duration_ms  double precision NOT NULL,
            status_code  integer,
            error        text,
            outcome      text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
            instance     text,
            PRIMARY KEY (delivery_id, attempt)
        );

        -- The notifiable event of a pipeline_events row: 'stuck', 'started',
        -- or the lifecycle state it moved to.
        CREATE FUNCTION sf_pipeline_events_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            ev text;
        BEGIN
            ev := CASE
                WHEN NEW.kind = 'stuck' THEN 'stuck'
                WHEN NEW.kind = 'started' THEN 'started'
                WHEN NEW.to_status IN ('paused', 'succeeded', 'failed', 'cancelled', 'interrupted')
                     AND NEW.to_status IS DISTINCT FROM NEW.from_status THEN NEW.to_status
                ELSE NULL END;
            IF ev IS NULL THEN RETURN NULL; END IF;
            INSERT INTO notification_deliveries (experiment_id, subscription_id, event, event_id, occurred_at)
            SELECT NEW.experiment_id, s.id, ev, NEW.id, NEW.ts
            FROM notification_subscriptions s
            WHERE s.experiment_id = NEW.experiment_id AND ev = ANY (s.events)
            ON CONFLICT (subscription_id, event_id) DO NOTHING;
            RETURN NULL;
        END $$;
        CREATE TRIGGER pipeline_events_outbox AFTER INSERT ON pipeline_events
            FOR EACH ROW EXECUTE FUNCTION sf_pipeline_events_outbox();
        """

    /// The six quality components as `float8[]` (`components` stays for the
    /// API: a `jsonb` number is a `numeric`, which has no `-0`, `NaN` or
    /// infinities, so a resumed run could not get the doubles back bit for bit).
    /// Existing rows are filled from `components` (`null` → `NaN`).
    static let v7 = """
        ALTER TABLE signals ADD COLUMN component_values double precision[];
        UPDATE signals SET component_values = ARRAY[
            COALESCE((components->>'pattern_strength')::float8, 'NaN'),
            COALESCE((components->>'mtf_agreement')::float8, 'NaN'),
            COALESCE((components->>'regime_confidence')::float8, 'NaN'),
            COALESCE((components->>'volume_confirmation')::float8, 'NaN'),
            COALESCE((components->>'sentiment_alignment')::float8, 'NaN'),
            COALESCE((components->>'correlation_safety')::float8, 'NaN')];
        ALTER TABLE signals ALTER COLUMN component_values SET NOT NULL,
            ADD CONSTRAINT signals_component_values_six CHECK (array_length(component_values, 1) = 6);
        """

    /// Fencing and idempotent writes of runners. `generation` is bumped on
    /// every claim and every recovery of an expired lease; a runner's writes
    /// carry the generation it claimed, and a row that moved on refuses them.
    /// `write_key` / `line_key` name one logical write, so an insert retried
    /// after an ambiguous failure (the commit was sent, the answer lost) is
    /// not stored twice.
    static let v8 = """
        ALTER TABLE experiments ADD COLUMN generation bigint NOT NULL DEFAULT 0;
        ALTER TABLE pipeline_events ADD COLUMN write_key text;
        CREATE UNIQUE INDEX pipeline_events_write_key_idx ON pipeline_events (write_key) WHERE write_key IS NOT NULL;
        ALTER TABLE pipeline_logs ADD COLUMN line_key text;
        CREATE UNIQUE INDEX pipeline_logs_line_key_idx ON pipeline_logs (line_key) WHERE line_key IS NOT NULL;
        """

    /// Issue 13: `quality_prior` (the component formula; `quality` becomes
    /// the calibrated probability) and the outcome label. Rows written before
    /// keep their quality as the prior and read as `open`.
    static let v9 = """
        ALTER TABLE signals
            ADD COLUMN quality_prior double precision,
            ADD COLUMN outcome text NOT NULL DEFAULT 'open'
                CHECK (outcome IN ('target', 'stop', 'horizon', 'open')),
            ADD COLUMN outcome_r double precision,
            ADD COLUMN resolved_at timestamptz;
        UPDATE signals SET quality_prior = quality;
        ALTER TABLE signals ALTER COLUMN quality_prior SET NOT NULL;
        CREATE INDEX signals_outcome_idx ON signals (experiment_id, outcome, id);
        """

    /// Issue 15 (history). `pinned` exempts an experiment from retention.
    /// `experiment_deletions` holds a mark per deletion under way: written
    /// before anything is removed and removed last, so a deletion a crash
    /// cut short is finished by the next start (see `ExperimentDeletion`).
    /// Every foreign key to `experiments` is indexed (a delete costs the same
    /// whatever the history), and the per-experiment pages that go by `id`
    /// (signals, metrics) have an index led by `(experiment_id, id)`: before,
    /// a page of one experiment's signals walked the primary key through
    /// other experiments' rows. The trigger that deletes a deleted
    /// experiment's log lines goes by that index whatever the history.
    static let v10 = """
        ALTER TABLE experiments ADD COLUMN pinned boolean NOT NULL DEFAULT false;

        CREATE TABLE experiment_deletions (
            experiment_id  uuid PRIMARY KEY,
            reason         text NOT NULL,
            requested_at   timestamptz NOT NULL DEFAULT now()
        );

        -- Retention: finished, unpinned experiments, oldest first.
        CREATE INDEX experiments_retention_idx ON experiments (finished_at, id)
            WHERE status IN ('succeeded', 'failed', 'cancelled') AND NOT pinned;
        CREATE INDEX idempotency_keys_experiment_idx ON idempotency_keys (experiment_id);
        CREATE INDEX signals_experiment_id_idx ON signals (experiment_id, id);
        CREATE INDEX pipeline_metrics_experiment_id_idx ON pipeline_metrics (experiment_id, id);
        DROP INDEX pipeline_metrics_experiment_idx;

        -- The log lines of deleted experiments, one experiment at a time: `experiment_id = $1`
        -- always goes through pipeline_logs_experiment_idx (a semi-join with the transition
        -- table, which has no statistics, could scan every experiment's lines).
        CREATE OR REPLACE FUNCTION sf_experiments_delete_logs() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            gone uuid;
        BEGIN
            FOR gone IN SELECT id FROM old_rows LOOP
                DELETE FROM pipeline_logs WHERE experiment_id = gone;
            END LOOP;
            RETURN NULL;
        END $$;
        """

    /// Issue 14: a sweep is a grid or random search over config paths; each
    /// point is an ordinary experiment that names its sweep (`sweep_id`) and
    /// its point (`sweep_point`: `{"index": i, "parameters": {path: value}}`).
    /// The engine's claim skips a child whose sweep is not `running` or
    /// already has `max_parallel` children running. `finished` is derived when
    /// read (every child terminal); `state` holds what was asked. `parameters`
    /// is `json`, not `jsonb`, so its paths keep the order they were given in
    /// (the leaderboard's CSV columns follow it).
    static let v11 = """
        CREATE TABLE sweeps (
            id               uuid PRIMARY KEY,
            name             text NOT NULL,
            created_at       timestamptz NOT NULL DEFAULT now(),
            created_by       text NOT NULL DEFAULT '',
            base             jsonb NOT NULL CHECK (jsonb_typeof(base) = 'object'),
            parameters       json NOT NULL CHECK (json_typeof(parameters) = 'object'),
            mode             text NOT NULL CHECK (mode IN ('grid', 'random')),
            seed             bigint,
            count            integer NOT NULL CHECK (count >= 1),
            max_parallel     integer NOT NULL CHECK (max_parallel >= 1),
            priority         text NOT NULL CHECK (priority IN ('high', 'medium', 'low')),
            state            text NOT NULL DEFAULT 'running'
                                 CHECK (state IN ('running', 'paused', 'cancelled', 'finished')),
            idempotency_key  text,
            request_hash     text
        );
        CREATE INDEX sweeps_created_idx ON sweeps (created_at DESC, id DESC);
        CREATE UNIQUE INDEX sweeps_idempotency_idx ON sweeps (created_by, idempotency_key)
            WHERE idempotency_key IS NOT NULL;
        ALTER TABLE experiments
            ADD COLUMN sweep_id uuid REFERENCES sweeps (id),
            ADD COLUMN sweep_point jsonb;
        CREATE INDEX experiments_sweep_idx ON experiments (sweep_id, status) WHERE sweep_id IS NOT NULL;
        """

    /// Every change to an `experiments` row (any writer, any instance, any
    /// SQL) notifies `sf_experiments` with the row's id when its transaction
    /// commits: what keeps the `GET /v1/experiments/{id}` row cache fresh.
    /// Inserts need none (a new id is in no cache).
    static let v13 = """
        CREATE FUNCTION sf_experiment_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('sf_experiments', OLD.id::text);
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER experiments_changed AFTER UPDATE OR DELETE ON experiments
            FOR EACH ROW EXECUTE FUNCTION sf_experiment_changed();
        """
}
