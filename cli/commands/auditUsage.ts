/** The `tda audit` lines of the CLI's usage (kept apart so `tda --help` loads no client). */
export const AUDIT_USAGE = `  audit schedule --name N --data PREFIX --checkpoints KEY --cron "0 2 * * *"
                 [--top-k K] [--shard-size S] [--projector JSON] [--queue Q] [--paused]
                 [--self-score '{"kind":"influence","layers":"last"}']
                 [--out-of-fold '{"architecture":{"kind":"mlp","hidden":[256,128]},"epochs":10,"learningRate":0.05}']
                 [--raw PREFIX2 --like DATASET]
                           nightly self-influence audits of the batches under PREFIX; with
                           --raw, each new Parquet/CSV/JSONL file under PREFIX2 is first
                           imported as a batch by DATASET's saved encoding (tda import)
  audit list               audit schedules: cron, paused, next and recent runs
  audit pause|unpause NAME
  audit trigger NAME [--wait]   run an audit now (--wait: print its summary)
  audit delete NAME`;
