CREATE TABLE "oidc_payloads" (
	"realm" text NOT NULL,
	"model" text NOT NULL,
	"id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"grant_id" text,
	"uid" text,
	"user_code" text,
	"expires_at" timestamp with time zone,
	"consumed_at" timestamp with time zone,
	CONSTRAINT "oidc_payloads_realm_model_id_pk" PRIMARY KEY("realm","model","id")
);
--> statement-breakpoint
CREATE TABLE "sso_clients" (
	"client_id" text PRIMARY KEY NOT NULL,
	"realm" text NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"first_party" boolean DEFAULT true NOT NULL,
	"secret_hash" text,
	"redirect_uris" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"post_logout_redirect_uris" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sso_signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"alg" text NOT NULL,
	"encrypted_jwk" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "sso_subjects" (
	"user_id" integer PRIMARY KEY NOT NULL,
	"sub" text NOT NULL,
	CONSTRAINT "sso_subjects_sub_unique" UNIQUE("sub")
);
--> statement-breakpoint
ALTER TABLE "sso_clients" ADD CONSTRAINT "sso_clients_realm_realms_key_fk" FOREIGN KEY ("realm") REFERENCES "realms"("key") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sso_subjects" ADD CONSTRAINT "sso_subjects_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "oidc_payloads_grant" ON "oidc_payloads" USING btree ("realm","grant_id");--> statement-breakpoint
CREATE INDEX "oidc_payloads_uid" ON "oidc_payloads" USING btree ("realm","uid");--> statement-breakpoint
CREATE INDEX "oidc_payloads_expires" ON "oidc_payloads" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "sso_clients_realm" ON "sso_clients" USING btree ("realm");