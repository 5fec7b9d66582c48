DROP INDEX "help_lexicon_word_prefix";--> statement-breakpoint
DROP INDEX "help_articles_search";--> statement-breakpoint
DROP INDEX "help_articles_title_trgm";--> statement-breakpoint
DROP INDEX "help_lexicon_word_trgm";--> statement-breakpoint
ALTER TABLE "help_articles" ADD COLUMN "head_vector" "tsvector";--> statement-breakpoint
CREATE INDEX "help_articles_head" ON "help_articles" USING gin ("head_vector") WITH (fastupdate=false);--> statement-breakpoint
CREATE INDEX "help_lexicon_word_start" ON "help_lexicon" USING btree ("locale",left("word", 2));--> statement-breakpoint
CREATE INDEX "help_articles_search" ON "help_articles" USING gin ("search_vector") WITH (fastupdate=false);--> statement-breakpoint
CREATE INDEX "help_articles_title_trgm" ON "help_articles" USING gin ("title" gin_trgm_ops) WITH (fastupdate=false);--> statement-breakpoint
CREATE INDEX "help_lexicon_word_trgm" ON "help_lexicon" USING gin ("word" gin_trgm_ops) WITH (fastupdate=false);--> statement-breakpoint
UPDATE "help_articles" SET "head_vector" =
  setweight(to_tsvector(search_config::regconfig, unaccent(title)), 'A') ||
  setweight(to_tsvector(search_config::regconfig, unaccent(array_to_string(tags, ' '))), 'A') ||
  setweight(to_tsvector(search_config::regconfig, unaccent(summary)), 'B');
