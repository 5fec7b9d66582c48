ALTER TABLE "users" ADD COLUMN "status_changed_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "users_lifecycle" ON "users" USING btree ("realm","status","last_activity_at");