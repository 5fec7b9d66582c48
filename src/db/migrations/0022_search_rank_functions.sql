-- Search ranks on rank_vector instead of search_vector. A common word matches thousands of
-- articles, and ranking each on its whole search_vector read that vector from TOAST for every one
-- (about 4 buffers a row, half of help_search's time on 3 × 10,000 articles). rank_vector holds the
-- head (title, tags: A; summary: B) and the first 60 words of the body (C): about 900 bytes, kept in
-- the row by storage MAIN. Finding is unchanged (search_vector still decides which articles match).
ALTER TABLE "help_articles" ALTER COLUMN "rank_vector" SET STORAGE MAIN;
--> statement-breakpoint

-- The one definition of rank_vector, for the import (helpcenter.repo.ts) and for the rows below.
CREATE OR REPLACE FUNCTION help_rank_vector(p_config regconfig, p_head tsvector, p_body text)
RETURNS tsvector LANGUAGE sql STABLE AS $$
  SELECT coalesce(p_head, ''::tsvector)
    || setweight(to_tsvector(p_config, unaccent(substring(p_body FROM '^\s*(?:\S+\s+){0,59}\S*'))), 'C')
$$;
--> statement-breakpoint

UPDATE "help_articles" SET "rank_vector" = help_rank_vector(search_config::regconfig, head_vector, body_text);
--> statement-breakpoint

-- As in 0003, but ranked on rank_vector, and only the page of hits is read in full (slug, title,
-- summary, body for the snippet): the ranking handles ids and ranks only.
CREATE OR REPLACE FUNCTION help_search(p_locale text, p_config regconfig, p_words text[], p_limit integer)
RETURNS TABLE (id integer, slug text, title text, summary text, category_slug text, category_title text, snippet text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
  any_word tsquery;
  every_word tsquery;
  word text;
  i integer := 0;
  n integer := coalesce(array_length(p_words, 1), 0);
BEGIN
  FOREACH word IN ARRAY p_words LOOP
    i := i + 1;
    word := regexp_replace(word, '[^[:alnum:]]', '', 'g');
    CONTINUE WHEN word = '';
    any_word := CASE WHEN any_word IS NULL THEN plainto_tsquery(p_config, word) ELSE any_word || plainto_tsquery(p_config, word) END;
    IF i = n AND length(word) >= 3 THEN
      any_word := any_word || to_tsquery(p_config, word || ':*');
    END IF;
  END LOOP;
  IF any_word IS NULL THEN
    RETURN;
  END IF;
  every_word := plainto_tsquery(p_config, array_to_string(p_words, ' '));
  RETURN QUERY
  WITH hits AS (
    SELECT a.id, a.position,
      ts_rank(a.head_vector, any_word) * 2 + ts_rank(a.rank_vector, every_word) AS rank
    FROM help_articles a
    WHERE a.locale = p_locale AND (a.head_vector @@ any_word OR a.search_vector @@ every_word)
    ORDER BY rank DESC, a.position, a.id
    LIMIT p_limit
  )
  SELECT a.id, a.slug, a.title, a.summary, c.slug, c.title,
    ts_headline(p_config, a.body_text, any_word,
      'StartSel=' || chr(57344) || ', StopSel=' || chr(57345) || ', MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "')
  FROM hits h JOIN help_articles a ON a.id = h.id JOIN help_categories c ON c.id = a.category_id
  ORDER BY h.rank DESC, h.position, h.id;
END $$;
