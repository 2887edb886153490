-- Nothing to do: BIGSERIAL never reuses IDs. (SQLite's 0003 makes its user
-- IDs never reused too; migration numbers stay the same on both backends.)
SELECT 1;
