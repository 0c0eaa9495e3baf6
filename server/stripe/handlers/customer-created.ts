/** `customer.created`: metadata `partnerkit_referral` binds the new customer (`customer-referral.ts`). */
import { handleCustomerReferral } from './customer-referral.ts';
import type { StripeEventHandler } from './handler.ts';

export const handleCustomerCreated: StripeEventHandler = handleCustomerReferral;
