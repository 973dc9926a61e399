import type { Reporter, SerializedError, TestModule, TestSuite } from "vitest/node";

/** Counts of the closing line. */
export interface SummaryCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Ends the run with one plain line, "N passed, N failed, N skipped", which
 * CI reads to tell a run that tested something from one that tested nothing.
 * A file or suite that failed without a failed test in it (a syntax or import
 * error, a throw at top level, a failing beforeAll/afterAll) counts as one
 * failure, and so does each error vitest caught outside any test: otherwise
 * a file that never loaded would read "0 failed".
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError> = []): void {
    const counts = { passed: 0, failed: unhandledErrors.length, skipped: 0 };
    for (const module of testModules) addCounts(module, counts);
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}

/** addCounts adds the tests of `suite` to `counts`, and one failure for a suite that failed on its own. */
function addCounts(suite: TestModule | TestSuite, counts: SummaryCounts): void {
  let failedTests = 0;
  for (const test of suite.children.tests()) {
    const state = test.result().state;
    if (state === "passed") counts.passed++;
    else if (state === "failed") failedTests++;
    else counts.skipped++;
  }
  counts.failed += failedTests;
  const before = counts.failed;
  for (const child of suite.children.suites()) addCounts(child, counts);
  const failedBelow = failedTests + (counts.failed - before);
  if (failedBelow === 0 && failedOnItsOwn(suite)) counts.failed++;
}

/** failedOnItsOwn is true when the suite or file itself failed: collection, top-level code or a hook. */
function failedOnItsOwn(suite: TestModule | TestSuite): boolean {
  return suite.errors().length > 0 || suite.state() === "failed";
}
