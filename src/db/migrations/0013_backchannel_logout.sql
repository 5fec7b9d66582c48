CREATE TABLE "sso_logout_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"realm" text NOT NULL,
	"client_id" text NOT NULL,
	"sub" text NOT NULL,
	"sid" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "sso_clients" ADD COLUMN "backchannel_logout_uri" text;--> statement-breakpoint
ALTER TABLE "sso_logout_outbox" ADD CONSTRAINT "sso_logout_outbox_client_id_sso_clients_client_id_fk" FOREIGN KEY ("client_id") REFERENCES "sso_clients"("client_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sso_logout_outbox_due" ON "sso_logout_outbox" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sso_logout_outbox_pending" ON "sso_logout_outbox" USING btree ("client_id","sub",coalesce("sid", '')) WHERE status = 'pending';