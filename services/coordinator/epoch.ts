/** The epoch of a fresh run; recovery (chaos issue) will bump it. */
export const FIRST_EPOCH = 1;
