// zod's small build (zod/mini) with English messages, for the documents install and upgrade read (receipt, trust
// state, mirror index): the full build costs about 10 MiB of resident memory at start, install's budget is 64 MiB.
import * as z from "zod/mini";

z.config(z.locales.en());

export { z };
