// The renderer type-checks engine files it imports types from (src/service/api.ts -> src/domain/run.ts).
// run.ts's yieldToLoop uses Node's setImmediate; the renderer never calls it, so declare it here instead of
// pulling all of Node's types into the browser code.
declare function setImmediate(callback: () => void): unknown;
