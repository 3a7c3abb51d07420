/**
 * Numbered schema migrations, applied in order inside one transaction each.
 * Never edit a shipped migration: add the next number. One that rebuilds a
 * table (SQLite cannot alter a CHECK) says so: it runs with foreign keys
 * off, or dropping the old table would cascade into every table that
 * references it, and the keys are checked before it commits.
 */
export const MIGRATIONS: Array<{ version: number; sql: string; rebuildsTables?: boolean }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE experiments (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        space_text TEXT NOT NULL,
        space_json TEXT NOT NULL,
        space_hash TEXT NOT NULL,
        space_file TEXT NOT NULL,
        controller TEXT NOT NULL,
        seed INTEGER NOT NULL,
        planned_trials INTEGER NOT NULL,
        teacher_json TEXT NOT NULL,
        teacher_fingerprint TEXT NOT NULL,
        dataset_fingerprint TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'stopped', 'finished')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE trials (
        id INTEGER PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        hash TEXT NOT NULL,
        family TEXT NOT NULL,
        candidate_json TEXT NOT NULL,
        estimate_json TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('WAITING', 'RUNNING', 'COMPLETE', 'FAILED', 'PRUNED')),
        metrics_json TEXT,
        layers_json TEXT,
        error_code TEXT,
        error TEXT,
        backend TEXT,
        owner TEXT,
        seconds REAL,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        heartbeat_at TEXT,
        UNIQUE (experiment_id, number),
        UNIQUE (experiment_id, hash)
      );
      CREATE INDEX trials_state ON trials (experiment_id, state);
      -- Finished rows never change again (DESIGN.md rule 5), enforced where the data lives.
      CREATE TRIGGER trials_finished_are_final BEFORE UPDATE ON trials
        WHEN OLD.state IN ('COMPLETE', 'FAILED', 'PRUNED')
        BEGIN SELECT RAISE(ABORT, 'finished trials never change'); END;
      CREATE TABLE epochs (
        trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        loss REAL NOT NULL,
        kd_loss REAL NOT NULL,
        ce_loss REAL NOT NULL,
        val_accuracy REAL NOT NULL,
        seconds REAL NOT NULL,
        PRIMARY KEY (trial_id, epoch)
      );
      CREATE TABLE weights (
        trial_id INTEGER PRIMARY KEY REFERENCES trials(id) ON DELETE CASCADE,
        topology_json TEXT NOT NULL,
        manifest_json TEXT NOT NULL,
        data BLOB NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      -- The from-scratch twin (alpha = 0, same seeds and epochs) of a trial: what distillation bought.
      CREATE TABLE baselines (
        trial_id INTEGER PRIMARY KEY REFERENCES trials(id) ON DELETE CASCADE,
        accuracy REAL NOT NULL,
        float_accuracy REAL NOT NULL,
        seconds REAL NOT NULL,
        backend TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    sql: `
      -- What the experiment's dataset is (source, shape, class names), for the report; NULL for experiments made before.
      ALTER TABLE experiments ADD COLUMN dataset_json TEXT;
    `,
  },
  {
    version: 4,
    sql: `
      -- A user's own device (serve --device-bench) and the latencies it measured: written by serve, never by the search.
      CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments(id),
        name TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE device_timings (
        device_id INTEGER NOT NULL REFERENCES devices(id),
        trial_id INTEGER NOT NULL REFERENCES trials(id),
        median_ms REAL NOT NULL,
        p10_ms REAL NOT NULL,
        p90_ms REAL NOT NULL,
        runs INTEGER NOT NULL,
        PRIMARY KEY (device_id, trial_id)
      );
    `,
  },
  {
    version: 5,
    sql: `
      -- The reference network's time at the machine's full speed, which every latency of the experiment is scaled to
      -- (model/latency-reference.ts); NULL for experiments made before (their trials' latencies are raw times).
      ALTER TABLE experiments ADD COLUMN latency_reference_ms REAL;
    `,
  },
  {
    version: 6,
    sql: `
      -- A self-exits trial's shallow exits, each a student of its own (the deepest exit is the trial), written with the trial.
      CREATE TABLE trial_exits (
        trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        exit INTEGER NOT NULL CHECK (exit >= 1),
        metrics_json TEXT NOT NULL,
        layers_json TEXT NOT NULL,
        topology_json TEXT NOT NULL,
        manifest_json TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (trial_id, exit)
      );
    `,
  },
  {
    version: 7,
    rebuildsTables: true,
    sql: `
      -- Rungs (successive halving): a trial may be PAUSED at a rung, then promoted (back to WAITING) or PRUNED.
      CREATE TABLE trials_v7 (
        id INTEGER PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        hash TEXT NOT NULL,
        family TEXT NOT NULL,
        candidate_json TEXT NOT NULL,
        estimate_json TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('WAITING', 'RUNNING', 'PAUSED', 'COMPLETE', 'FAILED', 'PRUNED')),
        metrics_json TEXT,
        layers_json TEXT,
        error_code TEXT,
        error TEXT,
        backend TEXT,
        owner TEXT,
        seconds REAL,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        heartbeat_at TEXT,
        UNIQUE (experiment_id, number),
        UNIQUE (experiment_id, hash)
      );
      INSERT INTO trials_v7 (id, experiment_id, number, hash, family, candidate_json, estimate_json, state, metrics_json, layers_json,
                             error_code, error, backend, owner, seconds, created_at, started_at, finished_at, heartbeat_at)
        SELECT id, experiment_id, number, hash, family, candidate_json, estimate_json, state, metrics_json, layers_json,
               error_code, error, backend, owner, seconds, created_at, started_at, finished_at, heartbeat_at FROM trials;
      DROP TABLE trials;
      ALTER TABLE trials_v7 RENAME TO trials;
      CREATE INDEX trials_state ON trials (experiment_id, state);
      CREATE TRIGGER trials_finished_are_final BEFORE UPDATE ON trials
        WHEN OLD.state IN ('COMPLETE', 'FAILED', 'PRUNED')
        BEGIN SELECT RAISE(ABORT, 'finished trials never change'); END;
      -- A trial's metrics at each rung it reached (measured as a student at that epoch): what promotion ranks.
      CREATE TABLE trial_rungs (
        trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL CHECK (epoch >= 1),
        metrics_json TEXT NOT NULL,
        backend TEXT NOT NULL,
        seconds REAL NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (trial_id, epoch)
      );
      -- The state a paused trial continues from (core/checkpoint.ts); removed when the trial finishes.
      CREATE TABLE trial_checkpoints (
        trial_id INTEGER PRIMARY KEY REFERENCES trials(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL CHECK (epoch >= 1),
        manifest_json TEXT NOT NULL,
        data BLOB NOT NULL
      );
    `,
  },
  {
    version: 8,
    sql: `
      -- A pre-screened trial: its score and every proposed candidate's (space/history.ts, PrescreenRecord).
      ALTER TABLE trials ADD COLUMN prescreen_json TEXT;
    `,
  },
  {
    version: 9,
    sql: `
      -- Every reference network's time at the machine's full speed (core/metrics.ts, LatencyCalibration), which the
      -- experiment's latencies are placed between. NULL for experiments made before (their first resume calibrates all
      -- three, in the units of the medium one if they stored it alone in latency_reference_ms, which only they have).
      ALTER TABLE experiments ADD COLUMN latency_references_json TEXT;
    `,
  },
];
