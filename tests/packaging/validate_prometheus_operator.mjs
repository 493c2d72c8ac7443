// Validates prometheus-operator objects with the schema validators compiled into the npm package
// @kubernetes-models/prometheus-operator (installed by scripts/install-tools.sh).
// Usage: MODELS=<node_modules/@kubernetes-models> node validate_prometheus_operator.mjs FILE.json
// FILE holds a JSON list of objects; prints one line per invalid object and exits 1 if any.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failed = 0;
for (const object of objects) {
  const [group, version] = object.apiVersion.split("/");
  const file = `${process.env.MODELS}/prometheus-operator/${group}/${version}/${object.kind}.js`;
  const name = `${object.kind} ${object.metadata?.name}`;
  let Model;
  try {
    Model = (await import(pathToFileURL(file).href))[object.kind];
  } catch {
    console.log(`${name}: no prometheus-operator schema for ${object.apiVersion}`);
    failed++;
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    console.log(`${name}: ${error.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
