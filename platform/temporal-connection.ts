import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { ConnectionOptions, TLSConfig } from '@temporalio/client';
import { temporalAddress, type Config } from './config';

function tls(config: Config): TLSConfig | undefined {
  if (config.TEMPORAL_TLS_CERT_PATH === undefined && config.TEMPORAL_TLS_CA_PATH === undefined) {
    return config.TEMPORAL_API_KEY === undefined ? undefined : {};
  }
  return {
    serverRootCACertificate: config.TEMPORAL_TLS_CA_PATH ? fs.readFileSync(config.TEMPORAL_TLS_CA_PATH) : undefined,
    clientCertPair:
      config.TEMPORAL_TLS_CERT_PATH && config.TEMPORAL_TLS_KEY_PATH
        ? { crt: fs.readFileSync(config.TEMPORAL_TLS_CERT_PATH), key: fs.readFileSync(config.TEMPORAL_TLS_KEY_PATH) }
        : undefined,
  };
}

function connectionOptions(config: Config): ConnectionOptions & { apiKey?: string } {
  return { address: temporalAddress(config), tls: tls(config), apiKey: config.TEMPORAL_API_KEY };
}

/** A Temporal client for the API process (plain gRPC connection, lazily usable). */
export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(config));
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}

/** The native connection a worker polls on. */
export function connectWorker(config: Config): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config));
}
