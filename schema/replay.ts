import { z } from "zod";

export const ReplayPlan = z.object({
  run: z.string(),
  /** Nothing to replay when the run did not fail or no onset was found. */
  resumable: z.boolean(),
  onset_step_id: z.number().int().nullable(),
  /** Resume right after this step: the last good state before the onset (0 = from the very start). */
  resume_after_step_id: z.number().int().min(0).nullable(),
  restore: z.object({
    /** State-changing steps up to the breakpoint, to re-apply (or keep) before resuming. */
    change_step_ids: z.array(z.number().int()),
    description: z.string(),
  }),
  guidance: z.string(),
  budget: z.object({ steps: z.number().int().min(0) }),
});
export type ReplayPlan = z.infer<typeof ReplayPlan>;
