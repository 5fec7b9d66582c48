DROP INDEX "users_realm_email";--> statement-breakpoint
CREATE UNIQUE INDEX "users_realm_email" ON "users" USING btree ("realm",lower("email")) WHERE "users"."status" <> 'pending_verification';