/**
 * Compile-time proof that every shape in `partner.schemas.ts` is exactly what the partner services return
 * (`sameShape` fails `tsc` when a field is added to one and not the other). Kept apart from the shapes because the
 * dashboard imports those and must not walk into the services. No work at run time; imported by nothing.
 */
import type { z } from 'zod';
import { sameShape } from '../lib/schemas.ts';
import type { AccessService } from './access/access.service.ts';
import type { ActivityService } from './portal/activity.service.ts';
import type { PortalService } from './portal/portal.service.ts';
import type { PayoutSettingsService } from './payout-settings.service.ts';
import type { partnerResponses as r } from './partner.schemas.ts';

// Both sides flattened one level (distributes over unions): zod writes an object built with a spread (`...page`)
// as an intersection, which `sameShape` would tell apart from the same fields written out.
type Flat<T> = { [F in keyof T]: T[F] };
type Out<K extends keyof typeof r> = Flat<z.output<(typeof r)[K]>>;
type Answer<F extends (...args: never[]) => unknown> = Flat<Awaited<ReturnType<F>>>;

sameShape<Out<'me'>, Answer<PortalService['me']>>(true);
sameShape<Out<'overview'>, Answer<PortalService['overview']>>(true);
sameShape<Out<'stats'>, Answer<PortalService['stats']>>(true);
sameShape<Out<'links'>, Answer<ActivityService['links']>>(true);
sameShape<Out<'link'>['link'], Answer<ActivityService['createLink']>>(true);
sameShape<Out<'referrals'>, Answer<ActivityService['referrals']>>(true);
sameShape<Out<'commissions'>, Answer<ActivityService['commissions']>>(true);
sameShape<Out<'commission'>, Answer<ActivityService['commission']>>(true);
sameShape<Out<'payouts'>, Answer<ActivityService['payouts']>>(true);
sameShape<Out<'payout'>, Answer<ActivityService['payout']>>(true);
sameShape<Out<'payoutSettings'>, Answer<PayoutSettingsService['payoutSettings']>>(true);
sameShape<Out<'program'>['program'], Answer<AccessService['publicProgram']>>(true);
