CREATE TABLE "support_deflections" (
	"id" text PRIMARY KEY NOT NULL,
	"locale" text NOT NULL,
	"article_slug" text NOT NULL,
	"ticket_id" integer,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ticket_access_keys" (
	"hash" text PRIMARY KEY NOT NULL,
	"ticket_id" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ticket_attachments" (
	"id" serial PRIMARY KEY NOT NULL,
	"ticket_id" integer NOT NULL,
	"message_id" integer,
	"file_name" text NOT NULL,
	"content_type" text NOT NULL,
	"size" integer NOT NULL,
	"content" "bytea" NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "support_deflections" ADD CONSTRAINT "support_deflections_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "tickets"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ticket_access_keys" ADD CONSTRAINT "ticket_access_keys_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "tickets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ticket_attachments" ADD CONSTRAINT "ticket_attachments_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "tickets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "support_deflections_created" ON "support_deflections" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "ticket_attachments_ticket" ON "ticket_attachments" USING btree ("ticket_id");--> statement-breakpoint
CREATE INDEX "tickets_requester_email" ON "tickets" USING btree (lower("requester_email"),"created_at");--> statement-breakpoint
CREATE INDEX "tickets_first_response" ON "tickets" USING btree ("market_id","first_responded_at");--> statement-breakpoint
CREATE INDEX "tickets_solved" ON "tickets" USING btree ("state","solved_at");