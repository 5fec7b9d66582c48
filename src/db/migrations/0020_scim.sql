CREATE TABLE "scim_tokens" (
	"client_id" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"company_id" integer,
	"market_id" integer,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "scim_tokens_one_scope" CHECK (("scim_tokens"."company_id" is null) <> ("scim_tokens"."market_id" is null))
);
--> statement-breakpoint
ALTER TABLE "scim_tokens" ADD CONSTRAINT "scim_tokens_client_id_sso_clients_client_id_fk" FOREIGN KEY ("client_id") REFERENCES "sso_clients"("client_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scim_tokens" ADD CONSTRAINT "scim_tokens_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scim_tokens" ADD CONSTRAINT "scim_tokens_market_id_markets_id_fk" FOREIGN KEY ("market_id") REFERENCES "markets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "scim_tokens_hash" ON "scim_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "users_company_updated" ON "users" USING btree ("company_id","updated_at");