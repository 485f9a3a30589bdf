-- Each dataset's rows now live in the dataset's own Durable Object (worker/src/store/): D1 keeps only the
-- registry. The sample's rows are loaded into its object from the bundled CSV on first use, so its D1
-- copy goes. Uploads made before this change had their rows in D1 tables named in `table_name`; those
-- datasets are unregistered here (pre-release: they were test data). Their leftover tables hold nothing
-- any route reads; `rm -rf .wrangler/state` reclaims the space.
DROP TABLE IF EXISTS ds_sample;
DROP TABLE IF EXISTS ds_sample_seed;
DELETE FROM datasets WHERE user_id != '*';
