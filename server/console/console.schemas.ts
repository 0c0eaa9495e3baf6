/** The public shapes of the console-only API's answers (`/api/v1/console/*`), for the OpenAPI document and tests. */
import { z } from 'zod';
import { isoInstant, sameShape } from '../lib/schemas.ts';
import type { CreatedProgram } from '../programs/programs.service.ts';
import type { ConsoleMe, ConsoleMember, OnboardingStatus } from './console.service.ts';

const role = z.enum(['owner', 'admin', 'viewer']);

const meShape = z.strictObject({
  user: z.strictObject({ id: z.string(), email: z.string() }),
  csrfToken: z.string(),
  programs: z.array(z.strictObject({ id: z.string(), name: z.string(), role })),
});
sameShape<z.output<typeof meShape>, ConsoleMe>(true);

const memberShape = z.strictObject({
  userId: z.string(),
  email: z.string(),
  role,
  active: z.boolean(),
  joinedAt: isoInstant,
});
sameShape<z.output<typeof memberShape>, ConsoleMember>(true);

const onboardingShape = z.strictObject({
  snippet: z.string(),
  webhookUrl: z.url(),
  eventTypes: z.array(z.string()),
  webhookSecretSet: z.boolean(),
  stripeApiKeySet: z.boolean(),
  firstClickAt: isoInstant.nullable(),
  firstStripeEvent: z.strictObject({ receivedAt: isoInstant, type: z.string() }).nullable(),
  complete: z.boolean(),
});
sameShape<z.output<typeof onboardingShape>, OnboardingStatus>(true);

const createdProgramShape = z.strictObject({
  id: z.string(),
  publicKey: z.string(),
  apiKey: z.string(),
  webhookUrl: z.url(),
  snippet: z.string(),
});
sameShape<z.output<typeof createdProgramShape>, CreatedProgram>(true);

export const consoleResponses = {
  setupNeeded: z.strictObject({ needed: z.boolean() }),
  setup: z.strictObject({ csrfToken: z.string(), program: createdProgramShape }),
  session: z.strictObject({ csrfToken: z.string() }),
  me: meShape,
  team: z.strictObject({ members: z.array(memberShape) }),
  invited: z.strictObject({ member: memberShape, inviteUrl: z.url().nullable() }),
  onboarding: z.strictObject({ onboarding: onboardingShape }),
};
