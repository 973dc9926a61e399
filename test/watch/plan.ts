/**
 * The changes the multi-process events test makes: per container a list of
 * steps (write a status, or remove), run in rounds (step r of every
 * container, then step r+1), so one container's changes are spread out.
 */
export type Step = { readonly kind: "write"; readonly status: string } | { readonly kind: "remove" };

/** stepsFor is container i's plan: created, running, sometimes paused and running again, stopped, sometimes removed. */
export function stepsFor(i: number): Step[] {
  const w = (status: string): Step => ({ kind: "write", status });
  const steps = [w("created"), w("running")];
  if (i % 3 === 0) steps.push(w("paused"), w("running"));
  steps.push(w("stopped"));
  if (i % 2 === 0) steps.push({ kind: "remove" });
  return steps;
}

/** idOf names container i of a writer. */
export function idOf(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(4, "0")}`;
}

/** rounds returns [id, step] in the order a writer runs them. */
export function rounds(prefix: string, count: number): [string, Step][] {
  const plans = Array.from({ length: count }, (_, i) => stepsFor(i));
  const out: [string, Step][] = [];
  for (let r = 0; plans.some((p) => r < p.length); r++) {
    plans.forEach((p, i) => {
      if (r < p.length) out.push([idOf(prefix, i), p[r]!]);
    });
  }
  return out;
}
