-- Help search as PL/pgSQL functions: their plans are cached per connection,
-- which saves the planning of these queries on every search.

-- For each word (lower-cased, unaccented): is it a word of the locale's articles,
-- and if not, the closest one that is. Candidates share trigrams or the first two
-- letters; the winner is the fewest edits away (1 for words up to 5 letters, else 2).
CREATE OR REPLACE FUNCTION help_correct_words(p_locale text, p_words text[])
RETURNS TABLE (word text, known boolean, best text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  SELECT t.w,
    EXISTS (SELECT 1 FROM help_lexicon l WHERE l.locale = p_locale AND l.word = t.w),
    (SELECT c.word FROM (
        SELECT l.word FROM help_lexicon l WHERE l.locale = p_locale AND l.word % t.w
        UNION
        SELECT l.word FROM help_lexicon l
        WHERE l.locale = p_locale AND left(l.word, 2) = left(t.w, 2)
          AND length(l.word) BETWEEN length(t.w) - 2 AND length(t.w) + 2
      ) c
      WHERE levenshtein(c.word, t.w) <= CASE WHEN length(t.w) <= 5 THEN 1 ELSE 2 END
      ORDER BY levenshtein(c.word, t.w), similarity(c.word, t.w) DESC, c.word
      LIMIT 1)
  FROM (SELECT lower(unaccent(u.w)) AS w, u.n FROM unnest(p_words) WITH ORDINALITY AS u(w, n)) t
  ORDER BY t.n;
END $$;
--> statement-breakpoint

-- An article is found when its title, tags or summary hold any of the words (the
-- last one also as a prefix, for search-as-you-type), or when its text holds every
-- word. Matches in title and tags weigh most. Snippets mark matches with U+E000/U+E001.
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
    SELECT a.id, a.slug, a.title, a.summary, a.body_text, a.category_id, a.position,
      ts_rank(a.head_vector, any_word) * 2 + ts_rank(a.search_vector, every_word) AS rank
    FROM help_articles a
    WHERE a.locale = p_locale AND (a.head_vector @@ any_word OR a.search_vector @@ every_word)
    ORDER BY rank DESC, a.position, a.id
    LIMIT p_limit
  )
  SELECT h.id, h.slug, h.title, h.summary, c.slug, c.title,
    ts_headline(p_config, h.body_text, any_word,
      'StartSel=' || chr(57344) || ', StopSel=' || chr(57345) || ', MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "')
  FROM hits h JOIN help_categories c ON c.id = h.category_id
  ORDER BY h.rank DESC, h.position, h.id;
END $$;
--> statement-breakpoint

-- For a search that found nothing: the articles whose titles look most like the
-- query, then the first articles of the help center, so there is always a way on.
CREATE OR REPLACE FUNCTION help_closest_articles(p_locale text, p_text text, p_limit integer)
RETURNS TABLE (id integer, key text, slug text, title text, summary text, "position" integer)
LANGUAGE plpgsql STABLE
SET pg_trgm.word_similarity_threshold = 0.3 AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH similar_titles AS (
    SELECT a.id, word_similarity(lower(unaccent(p_text)), a.title) AS score FROM help_articles a
    WHERE a.locale = p_locale AND lower(unaccent(p_text)) <% a.title
    ORDER BY score DESC, a.position, a.id
    LIMIT p_limit
  ), first_articles AS (
    SELECT a.id, 0::real AS score FROM help_articles a
    WHERE a.locale = p_locale
    ORDER BY a.position, a.id
    LIMIT p_limit
  ), picked AS (
    SELECT DISTINCT ON (c.id) c.id, c.score FROM (
      SELECT * FROM similar_titles UNION ALL SELECT * FROM first_articles
    ) c ORDER BY c.id, c.score DESC
  )
  SELECT a.id, a.key, a.slug, a.title, a.summary, a.position
  FROM picked p JOIN help_articles a ON a.id = p.id
  ORDER BY p.score DESC, a.position, a.id
  LIMIT p_limit;
END $$;
