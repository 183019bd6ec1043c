-- Self-serve videos (FAQ 3) are never scored for pay: remove the scores an earlier version of
-- the scorer gave them (score_videos.sql now leaves them out). Their history of score changes
-- goes too: it described scores that should not have existed.
DELETE FROM video_score_changes c
 USING videos v, collection_versions cv
 WHERE c.video_id = v.video_id
   AND cv.collection_id = v.collection_id AND cv.version = v.collection_version
   AND cv.kind = 'self_serve';
DELETE FROM activity_scores a
 USING videos v, collection_versions cv
 WHERE a.video_id = v.video_id
   AND cv.collection_id = v.collection_id AND cv.version = v.collection_version
   AND cv.kind = 'self_serve';
DELETE FROM video_scores s
 USING videos v, collection_versions cv
 WHERE s.video_id = v.video_id
   AND cv.collection_id = v.collection_id AND cv.version = v.collection_version
   AND cv.kind = 'self_serve';
