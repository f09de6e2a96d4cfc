/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, after Jest's own summary, so tools
 * that read a run's last line (CI dashboards) see the counts without parsing Jest's format.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`\n${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;
