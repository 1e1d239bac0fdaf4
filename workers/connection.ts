import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, type LogLevel, NativeConnection, Runtime } from '@temporalio/worker';
import type { Config } from '../lib/config';

/** TLS / API-key options shared by clients and workers (Temporal Cloud or a secured cluster). */
async function tlsOptions(t: Config['temporal']) {
  if (t.tlsCertPath && t.tlsKeyPath) {
    return {
      tls: {
        clientCertPair: { crt: await readFile(t.tlsCertPath), key: await readFile(t.tlsKeyPath) },
      },
    };
  }
  if (t.apiKey) return { tls: true as const, apiKey: t.apiKey };
  return {};
}

export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect({
    address: config.temporal.address,
    ...(await tlsOptions(config.temporal)),
  });
  return new Client({ connection, namespace: config.temporal.namespace });
}

let runtimeInstalled = false;

/** The SDK logs every worker state change at INFO; keep worker output to warnings by default. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.TDA_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  Runtime.install({ logger: new DefaultLogger(level) });
}

export async function connectWorker(config: Config): Promise<NativeConnection> {
  installRuntime();
  return NativeConnection.connect({
    address: config.temporal.address,
    ...(await tlsOptions(config.temporal)),
  });
}
