/** A user ID: 3 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit. */
export const UserIdPattern = '^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$'
