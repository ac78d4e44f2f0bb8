// Node test reporter that prints only the closing `N passed, N failed` line. Leaf tests count; a suite counts
// only when it fails on its own (a throwing describe body or hook), not because one of its tests failed.
export default async function* summary(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    if (event.data.details?.type === "suite") {
      if (event.type === "test:fail" && event.data.details.error?.failureType !== "subtestsFailed") failed++;
      continue;
    }
    if (event.data.skip || event.data.todo) skipped++;
    else if (event.type === "test:pass") passed++;
    else failed++;
  }
  yield `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`;
}
