CREATE TABLE "help_articles" (
	"id" serial PRIMARY KEY NOT NULL,
	"locale" text NOT NULL,
	"key" text NOT NULL,
	"category_id" integer NOT NULL,
	"slug" text NOT NULL,
	"title" text NOT NULL,
	"summary" text DEFAULT '' NOT NULL,
	"audience" text DEFAULT 'all' NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"position" integer DEFAULT 0 NOT NULL,
	"body_markdown" text NOT NULL,
	"body_html" text NOT NULL,
	"body_text" text NOT NULL,
	"branches" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"source_hash" text NOT NULL,
	"search_config" text NOT NULL,
	"search_vector" "tsvector",
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "help_categories" (
	"id" serial PRIMARY KEY NOT NULL,
	"locale" text NOT NULL,
	"key" text NOT NULL,
	"slug" text NOT NULL,
	"title" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"position" integer DEFAULT 0 NOT NULL,
	"source_hash" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "help_feedback" (
	"id" serial PRIMARY KEY NOT NULL,
	"article_id" integer NOT NULL,
	"branch" text DEFAULT '' NOT NULL,
	"visitor_hash" text NOT NULL,
	"helpful" boolean NOT NULL,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "help_lexicon" (
	"locale" text NOT NULL,
	"word" text NOT NULL,
	CONSTRAINT "help_lexicon_locale_word_pk" PRIMARY KEY("locale","word")
);
--> statement-breakpoint
CREATE TABLE "help_search_misses" (
	"locale" text NOT NULL,
	"query" text NOT NULL,
	"count" integer DEFAULT 1 NOT NULL,
	"first_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "help_search_misses_locale_query_pk" PRIMARY KEY("locale","query")
);
--> statement-breakpoint
CREATE TABLE "app_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "markets" (
	"id" serial PRIMARY KEY NOT NULL,
	"code" text NOT NULL,
	"names" jsonb NOT NULL,
	"default_locale" text NOT NULL,
	"time_zone" text NOT NULL,
	"support_email" text NOT NULL,
	"support_phone" text NOT NULL,
	"business_hours" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "help_articles" ADD CONSTRAINT "help_articles_category_id_help_categories_id_fk" FOREIGN KEY ("category_id") REFERENCES "help_categories"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "help_feedback" ADD CONSTRAINT "help_feedback_article_id_help_articles_id_fk" FOREIGN KEY ("article_id") REFERENCES "help_articles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "help_articles_locale_key" ON "help_articles" USING btree ("locale","key");--> statement-breakpoint
CREATE UNIQUE INDEX "help_articles_locale_slug" ON "help_articles" USING btree ("locale","slug");--> statement-breakpoint
CREATE INDEX "help_articles_category" ON "help_articles" USING btree ("category_id","position");--> statement-breakpoint
CREATE INDEX "help_articles_search" ON "help_articles" USING gin ("search_vector");--> statement-breakpoint
CREATE INDEX "help_articles_title_trgm" ON "help_articles" USING gin ("title" gin_trgm_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "help_categories_locale_key" ON "help_categories" USING btree ("locale","key");--> statement-breakpoint
CREATE UNIQUE INDEX "help_categories_locale_slug" ON "help_categories" USING btree ("locale","slug");--> statement-breakpoint
CREATE UNIQUE INDEX "help_feedback_one_vote" ON "help_feedback" USING btree ("article_id","branch","visitor_hash");--> statement-breakpoint
CREATE INDEX "help_lexicon_word_trgm" ON "help_lexicon" USING gin ("word" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "help_lexicon_word_prefix" ON "help_lexicon" USING btree ("locale","word" text_pattern_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "markets_code" ON "markets" USING btree ("code");