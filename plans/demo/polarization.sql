-- Polarization of a discussion by vote score: comments bucketed by log2(score + 1), each
-- comment's sentiment scored by the Wasm `sentiment` function (guests/sentiment), and per
-- bucket the mean sentiment and the mean strength of sentiment |compound| (polarization).
-- Averages are rounded: parallel partial sums add in arrival order, which moves the last
-- bits of a float from run to run.
SELECT CAST(floor(log2(score + 1)) AS BIGINT) AS bucket,
       count(*) AS comments,
       round(avg(s['compound']), 6) AS mean_sentiment,
       round(avg(abs(s['compound'])), 6) AS polarization
FROM (SELECT score, sentiment(text) AS s FROM comments)
GROUP BY 1
ORDER BY 1
