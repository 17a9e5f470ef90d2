-- A disabled user cannot sign in; their sessions are deleted when they are disabled. NULL: enabled.
ALTER TABLE "users" ADD COLUMN "disabled_at" TIMESTAMPTZ(3);
