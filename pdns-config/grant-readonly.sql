-- A read-only MariaDB account for pphook. pphook never writes to phpIPAM:
-- SELECT on the phpIPAM database is all it needs (reading information_schema.TABLES
-- for the cheap change check needs no extra privilege).
-- Run as a MariaDB admin; replace the host and the password.
CREATE USER IF NOT EXISTS 'pphook'@'127.0.0.1' IDENTIFIED BY 'CHANGE-ME';
GRANT SELECT ON phpipam.* TO 'pphook'@'127.0.0.1';
-- If pphook connects through the local socket instead:
-- CREATE USER IF NOT EXISTS 'pphook'@'localhost' IDENTIFIED BY 'CHANGE-ME';
-- GRANT SELECT ON phpipam.* TO 'pphook'@'localhost';
FLUSH PRIVILEGES;
