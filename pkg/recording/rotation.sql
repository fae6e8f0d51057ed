-- MyCRT's general log rotation, installed once per server by a DBA (as root, or any account
-- with ALL on the mysql schema). With it, each collection moves the rows logged since the last
-- one into a table of their own, reads that table whole and drops it, so a collection costs
-- what is new, however big mysql.general_log has grown. Without it, collections read the live
-- table by time (correct, but each read costs the whole table). The capturing account needs
-- only EXECUTE on these four procedures, granted one by one once they exist (and again after
-- running this file again, which drops them and their grants), never on mysql.*:
--   GRANT EXECUTE ON PROCEDURE mysql.mycrt_rotate_general_log TO capturer;
--   GRANT EXECUTE ON PROCEDURE mysql.mycrt_read_general_log TO capturer;
--   GRANT EXECUTE ON PROCEDURE mysql.mycrt_drop_general_log TO capturer;
--   GRANT EXECUTE ON PROCEDURE mysql.mycrt_discard_general_log TO capturer;
--
-- The procedures build table names from an integer only, so a caller cannot name any other
-- table. They run as their definer (SQL SECURITY DEFINER), which is why the capturing account
-- needs no CREATE, DROP or ALTER on the mysql schema.

DROP PROCEDURE IF EXISTS mysql.mycrt_rotate_general_log;
DROP PROCEDURE IF EXISTS mysql.mycrt_read_general_log;
DROP PROCEDURE IF EXISTS mysql.mycrt_drop_general_log;
DROP PROCEDURE IF EXISTS mysql.mycrt_discard_general_log;

DELIMITER //

-- mycrt_rotate_general_log(n) swaps mysql.general_log for an empty copy, atomically and while
-- logging is on, keeping the rows logged so far as mysql.mycrt_general_log_<n>. With n = 0 it
-- keeps them instead as mysql.general_log_kept_<UTC yyyymmddhhmmss_micros>, which MyCRT never reads or
-- drops: that is how rows logged before a capture (the DBA's) are set aside at its start.
CREATE PROCEDURE mysql.mycrt_rotate_general_log(IN n BIGINT UNSIGNED)
SQL SECURITY DEFINER
MODIFIES SQL DATA
BEGIN
  DECLARE target VARCHAR(64);
  IF n = 0 THEN
    SET target = CONCAT('general_log_kept_', DATE_FORMAT(UTC_TIMESTAMP(6), '%Y%m%d%H%i%s_%f'));
  ELSE
    SET target = CONCAT('mycrt_general_log_', n);
  END IF;
  DROP TABLE IF EXISTS mysql.mycrt_general_log_new;
  CREATE TABLE mysql.mycrt_general_log_new LIKE mysql.general_log;
  SET @mycrt_sql = CONCAT('RENAME TABLE mysql.general_log TO mysql.', target,
    ', mysql.mycrt_general_log_new TO mysql.general_log');
  PREPARE mycrt_stmt FROM @mycrt_sql;
  EXECUTE mycrt_stmt;
  DEALLOCATE PREPARE mycrt_stmt;
  SET @mycrt_sql = NULL;
END //

-- mycrt_read_general_log(n) returns the rows of mysql.mycrt_general_log_<n> in the order they
-- were logged (sorting would make the server read them twice), with event_time as Unix time in
-- the caller's zone; SQLSTATE 45000 if there is no such table (the swap did not happen).
CREATE PROCEDURE mysql.mycrt_read_general_log(IN n BIGINT UNSIGNED)
SQL SECURITY DEFINER
READS SQL DATA
BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = CONCAT('mycrt_general_log_', n)) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'mycrt: no rotated general log with that number';
  END IF;
  SET @mycrt_sql = CONCAT('SELECT UNIX_TIMESTAMP(event_time), user_host, thread_id, command_type, argument',
    ' FROM mysql.mycrt_general_log_', n);
  PREPARE mycrt_stmt FROM @mycrt_sql;
  EXECUTE mycrt_stmt;
  DEALLOCATE PREPARE mycrt_stmt;
  SET @mycrt_sql = NULL;
END //

-- mycrt_drop_general_log(n) drops mysql.mycrt_general_log_<n>, once every capture's share of it
-- is stored.
CREATE PROCEDURE mysql.mycrt_drop_general_log(IN n BIGINT UNSIGNED)
SQL SECURITY DEFINER
MODIFIES SQL DATA
BEGIN
  SET @mycrt_sql = CONCAT('DROP TABLE IF EXISTS mysql.mycrt_general_log_', n);
  PREPARE mycrt_stmt FROM @mycrt_sql;
  EXECUTE mycrt_stmt;
  DEALLOCATE PREPARE mycrt_stmt;
  SET @mycrt_sql = NULL;
END //

-- mycrt_discard_general_log() empties mysql.general_log by the same swap, dropping what it held:
-- called once the last capture has turned the log back off, when the DBA did not log to the
-- table, so that what it holds (what the log wrote after the last collection) is not kept as
-- the DBA's when the next capture starts.
CREATE PROCEDURE mysql.mycrt_discard_general_log()
SQL SECURITY DEFINER
MODIFIES SQL DATA
BEGIN
  DROP TABLE IF EXISTS mysql.mycrt_general_log_new, mysql.mycrt_general_log_discarded;
  CREATE TABLE mysql.mycrt_general_log_new LIKE mysql.general_log;
  RENAME TABLE mysql.general_log TO mysql.mycrt_general_log_discarded,
    mysql.mycrt_general_log_new TO mysql.general_log;
  DROP TABLE mysql.mycrt_general_log_discarded;
END //

DELIMITER ;
