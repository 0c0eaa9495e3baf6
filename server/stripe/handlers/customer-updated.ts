/** `customer.updated`: metadata `partnerkit_referral` added later binds the customer (`customer-referral.ts`). */
import { handleCustomerReferral } from './customer-referral.ts';
import type { StripeEventHandler } from './handler.ts';

export const handleCustomerUpdated: StripeEventHandler = handleCustomerReferral;
