import { z } from 'zod';
import { zodIssues } from './zodIssues';

/** Compute backends in order of preference for `auto` (see lib/grad/backend.ts). */
export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

const port = z.coerce.number().int().min(1).max(65535);

/**
 * Everything that says where the platform's services are. Defaults point at the local stack that
 * `infra/stack.sh up` starts; every field can be overridden by an environment variable so the same
 * code runs against Temporal Cloud / a self-hosted cluster and AWS S3 / any S3-compatible store.
 */
export const configSchema = z.object({
  temporal: z.object({
    address: z.string().min(1),
    namespace: z.string().min(1),
    /** TLS client certificate and key paths, for Temporal Cloud (mTLS). */
    tlsCertPath: z.string().optional(),
    tlsKeyPath: z.string().optional(),
    apiKey: z.string().optional(),
  }),
  s3: z.object({
    /** Empty means the SDK's default AWS endpoint for the region. */
    endpoint: z.string().url().optional(),
    bucket: z.string().min(3).max(63),
    region: z.string().min(1),
    accessKeyId: z.string().min(1),
    secretAccessKey: z.string().min(1),
    forcePathStyle: z.boolean(),
  }),
  backend: z.enum(BACKENDS),
  taskQueues: z.object({ cpu: z.string().min(1), gpu: z.string().min(1) }),
  /** Activity slots per worker; defaults to the host's cores. */
  workerConcurrency: z.number().int().min(1).optional(),
  /** A compute worker process runs a small attribution before it polls (lib/pipeline/warmUp.ts). */
  warmUp: z.boolean(),
});
export type Config = z.infer<typeof configSchema>;

export const LOCAL_DEFAULTS = {
  temporalPort: 7233,
  s3Port: 8333,
  bucket: 'tda',
  accessKeyId: 'tda-local',
  secretAccessKey: 'tda-local-secret',
};

/** A boolean environment variable: unset or empty gives the fallback; names the variable if bad. */
function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw new Error(`invalid configuration: ${name} must be 1/0, true/false or yes/no, got "${v}"`);
}

/** Reads the configuration from the environment, validated; throws naming every bad field. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const s3Port = env.TDA_S3_PORT ? port.parse(env.TDA_S3_PORT) : LOCAL_DEFAULTS.s3Port;
  const temporalPort = env.TDA_TEMPORAL_PORT
    ? port.parse(env.TDA_TEMPORAL_PORT)
    : LOCAL_DEFAULTS.temporalPort;
  const endpoint =
    env.TDA_S3_ENDPOINT === 'aws'
      ? undefined
      : (env.TDA_S3_ENDPOINT ?? `http://127.0.0.1:${s3Port}`);
  const raw = {
    temporal: {
      address: env.TDA_TEMPORAL_ADDRESS ?? `127.0.0.1:${temporalPort}`,
      namespace: env.TDA_TEMPORAL_NAMESPACE ?? 'default',
      tlsCertPath: env.TDA_TEMPORAL_TLS_CERT || undefined,
      tlsKeyPath: env.TDA_TEMPORAL_TLS_KEY || undefined,
      apiKey: env.TDA_TEMPORAL_API_KEY || undefined,
    },
    s3: {
      endpoint,
      bucket: env.TDA_S3_BUCKET ?? LOCAL_DEFAULTS.bucket,
      region: env.TDA_S3_REGION ?? env.AWS_REGION ?? 'us-east-1',
      accessKeyId: env.TDA_S3_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID ?? LOCAL_DEFAULTS.accessKeyId,
      secretAccessKey:
        env.TDA_S3_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY ?? LOCAL_DEFAULTS.secretAccessKey,
      forcePathStyle: flag(env, 'TDA_S3_FORCE_PATH_STYLE', endpoint !== undefined),
    },
    backend: env.TDA_BACKEND ?? 'auto',
    taskQueues: {
      cpu: env.TDA_TASK_QUEUE_CPU ?? 'tda-cpu',
      gpu: env.TDA_TASK_QUEUE_GPU ?? 'tda-gpu',
    },
    workerConcurrency: env.TDA_WORKER_CONCURRENCY ? Number(env.TDA_WORKER_CONCURRENCY) : undefined,
    warmUp: flag(env, 'TDA_WARM_UP', true),
  };
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`invalid configuration:\n${zodIssues(parsed.error)}`);
  }
  return parsed.data;
}
