-- The phpIPAM tables pphook reads, for SQLite (the embedded demo).
--
-- Same table and column names as tests/sql/phpipam-mariadb.sql (written from
-- docs/phpipam-facts.md), with types mapped to SQLite:
--   int/tinyint/BOOL  -> INTEGER          varchar/char/text/enum/set -> TEXT
--   datetime/TIMESTAMP -> TEXT 'YYYY-MM-DD HH:MM:SS' (CURRENT_TIMESTAMP is UTC here;
--                        MariaDB uses the session time zone)
--   ENUM/SET           -> TEXT with a CHECK on the allowed values
-- Text columns use COLLATE NOCASE: phpIPAM's utf8mb4_unicode_ci makes `=` and
-- uniqueness case-insensitive, and NOCASE is the nearest SQLite has (ASCII only; it
-- does not ignore accents or trailing spaces).
--
-- Structural differences, because SQLite only auto-increments an INTEGER PRIMARY KEY:
--   * sections and users: MariaDB has PRIMARY KEY(name/username) + UNIQUE(id) with id
--     AUTO_INCREMENT; here id is the primary key and name/username is UNIQUE NOT NULL.
--     Both columns stay unique either way.
--   * Index names are prefixed with the table name (SQLite index names are global).
--   * No customers table and no customer_id foreign keys (same as the MariaDB schema).
--
-- editDate: MariaDB's `TIMESTAMP NULL ON UPDATE CURRENT_TIMESTAMP` (no default, so NULL
-- after INSERT) is mimicked by one AFTER UPDATE trigger per table, at the end of this
-- file. It stamps editDate only when some other column really changed and the UPDATE
-- did not set editDate itself, which is when MariaDB moves it too.
-- A column added later (e.g. a custom_* field) must be added to its table's trigger.

CREATE TABLE ipaddresses (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subnetId INTEGER DEFAULT NULL,
  ip_addr TEXT COLLATE NOCASE NOT NULL,
  is_gateway INTEGER NOT NULL DEFAULT 0,
  description TEXT COLLATE NOCASE DEFAULT NULL,
  hostname TEXT COLLATE NOCASE DEFAULT NULL,
  mac TEXT COLLATE NOCASE DEFAULT NULL,
  owner TEXT COLLATE NOCASE DEFAULT NULL,
  state INTEGER DEFAULT 2,
  switch INTEGER DEFAULT NULL,
  location INTEGER DEFAULT NULL,
  port TEXT COLLATE NOCASE DEFAULT NULL,
  note TEXT COLLATE NOCASE DEFAULT NULL,
  lastSeen TEXT DEFAULT '1970-01-01 00:00:01',
  excludePing INTEGER NOT NULL DEFAULT 0,
  PTRignore INTEGER NOT NULL DEFAULT 0,
  PTR INTEGER DEFAULT 0,
  firewallAddressObject TEXT COLLATE NOCASE DEFAULT NULL,
  editDate TEXT DEFAULT NULL,
  customer_id INTEGER DEFAULT NULL
);
CREATE UNIQUE INDEX ipaddresses_sid_ip_unique ON ipaddresses (ip_addr, subnetId);
CREATE INDEX ipaddresses_subnetid ON ipaddresses (subnetId);
CREATE INDEX ipaddresses_location ON ipaddresses (location);
CREATE INDEX ipaddresses_customer_ip ON ipaddresses (customer_id);

CREATE TABLE subnets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subnet TEXT COLLATE NOCASE DEFAULT NULL,
  mask TEXT COLLATE NOCASE DEFAULT NULL,
  sectionId INTEGER DEFAULT NULL,
  description TEXT COLLATE NOCASE DEFAULT NULL,
  linked_subnet INTEGER DEFAULT NULL,
  firewallAddressObject TEXT COLLATE NOCASE DEFAULT NULL,
  vrfId INTEGER DEFAULT NULL,
  masterSubnetId INTEGER NOT NULL DEFAULT 0,
  allowRequests INTEGER NOT NULL DEFAULT 0,
  vlanId INTEGER DEFAULT NULL,
  showName INTEGER NOT NULL DEFAULT 0,
  device INTEGER DEFAULT 0,
  permissions TEXT COLLATE NOCASE DEFAULT NULL,
  pingSubnet INTEGER NOT NULL DEFAULT 0,
  discoverSubnet INTEGER NOT NULL DEFAULT 0,
  resolveDNS INTEGER NOT NULL DEFAULT 0,
  DNSrecursive INTEGER NOT NULL DEFAULT 0,
  DNSrecords INTEGER NOT NULL DEFAULT 0,
  nameserverId INTEGER DEFAULT 0,
  scanAgent INTEGER DEFAULT NULL,
  customer_id INTEGER DEFAULT NULL,
  isFolder INTEGER NOT NULL DEFAULT 0,
  isFull INTEGER NOT NULL DEFAULT 0,
  isPool INTEGER NOT NULL DEFAULT 0,
  state INTEGER DEFAULT 2,
  threshold INTEGER DEFAULT 0,
  location INTEGER DEFAULT NULL,
  editDate TEXT DEFAULT NULL,
  lastScan TEXT DEFAULT NULL,
  lastDiscovery TEXT DEFAULT NULL
);
CREATE INDEX subnets_masterSubnetId ON subnets (masterSubnetId);
CREATE INDEX subnets_location ON subnets (location);
CREATE INDEX subnets_sectionId ON subnets (sectionId);
CREATE INDEX subnets_vrfId ON subnets (vrfId);
CREATE INDEX subnets_customer_subnets ON subnets (customer_id);

CREATE TABLE sections (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT COLLATE NOCASE NOT NULL DEFAULT '' UNIQUE,
  description TEXT COLLATE NOCASE DEFAULT NULL,
  masterSection INTEGER DEFAULT 0,
  permissions TEXT COLLATE NOCASE DEFAULT NULL,
  strictMode TEXT NOT NULL DEFAULT '1',
  subnetOrdering TEXT COLLATE NOCASE DEFAULT NULL,
  "order" INTEGER DEFAULT NULL,
  editDate TEXT DEFAULT NULL,
  showSubnet INTEGER NOT NULL DEFAULT 1,
  showVLAN INTEGER NOT NULL DEFAULT 0,
  showVRF INTEGER NOT NULL DEFAULT 0,
  showSupernetOnly INTEGER NOT NULL DEFAULT 0,
  DNS TEXT COLLATE NOCASE DEFAULT NULL
);

CREATE TABLE vrf (
  vrfId INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT COLLATE NOCASE NOT NULL DEFAULT '',
  rd TEXT COLLATE NOCASE DEFAULT NULL,
  description TEXT COLLATE NOCASE DEFAULT NULL,
  sections TEXT COLLATE NOCASE DEFAULT NULL,
  editDate TEXT DEFAULT NULL,
  customer_id INTEGER DEFAULT NULL
);
CREATE INDEX vrf_customer_vrf ON vrf (customer_id);

CREATE TABLE ipTags (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT COLLATE NOCASE DEFAULT NULL,
  showtag INTEGER DEFAULT 1,
  bgcolor TEXT DEFAULT '#000',
  fgcolor TEXT DEFAULT '#fff',
  compress TEXT NOT NULL DEFAULT 'No' CHECK (compress IN ('', 'No', 'Yes', 'No,Yes')),
  locked TEXT NOT NULL DEFAULT 'No' CHECK (locked IN ('', 'No', 'Yes', 'No,Yes')),
  updateTag INTEGER DEFAULT 0
);

INSERT INTO ipTags (id, type, showtag, bgcolor, fgcolor, compress, locked, updateTag)
VALUES
  (1, 'Offline',  1, '#f59c99', '#ffffff', 'No',  'Yes', 1),
  (2, 'Used',     0, '#a9c9a4', '#ffffff', 'No',  'Yes', 1),
  (3, 'Reserved', 1, '#9ac0cd', '#ffffff', 'No',  'Yes', 1),
  (4, 'DHCP',     1, '#c9c9c9', '#ffffff', 'Yes', 'Yes', 1);

CREATE TABLE changelog (
  cid INTEGER PRIMARY KEY AUTOINCREMENT,
  ctype TEXT NOT NULL DEFAULT ''
    CHECK (ctype IN ('', 'ip_addr', 'subnet', 'section')),
  coid INTEGER NOT NULL,
  cuser INTEGER NOT NULL,
  caction TEXT NOT NULL DEFAULT 'edit'
    CHECK (caction IN ('add', 'edit', 'delete', 'truncate', 'resize', 'perm_change')),
  cresult TEXT NOT NULL DEFAULT 'success' CHECK (cresult IN ('error', 'success')),
  cdate TEXT NOT NULL,
  cdiff TEXT DEFAULT NULL
);
CREATE INDEX changelog_coid ON changelog (coid);
CREATE INDEX changelog_ctype ON changelog (ctype);

CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT COLLATE NOCASE NOT NULL DEFAULT '' UNIQUE,
  authMethod INTEGER DEFAULT 1,
  password TEXT DEFAULT NULL,
  "groups" TEXT DEFAULT NULL,
  role TEXT COLLATE NOCASE DEFAULT NULL,
  real_name TEXT COLLATE NOCASE DEFAULT NULL,
  email TEXT COLLATE NOCASE DEFAULT NULL,
  disabled TEXT NOT NULL DEFAULT 'No' CHECK (disabled IN ('Yes', 'No')),
  mailNotify TEXT DEFAULT 'No' CHECK (mailNotify IN ('Yes', 'No')),
  mailChangelog TEXT DEFAULT 'No' CHECK (mailChangelog IN ('Yes', 'No')),
  token TEXT DEFAULT NULL,
  token_valid_until TEXT DEFAULT NULL,
  lastLogin TEXT DEFAULT NULL,
  lastActivity TEXT DEFAULT NULL,
  editDate TEXT DEFAULT NULL,
  module_permissions TEXT DEFAULT NULL
);

CREATE TABLE settings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  siteAdminName TEXT DEFAULT NULL,
  siteAdminMail TEXT DEFAULT NULL,
  siteDomain TEXT DEFAULT NULL,
  enableDNSresolving INTEGER DEFAULT NULL,
  enablePowerDNS INTEGER DEFAULT 0,
  powerDNS TEXT DEFAULT NULL,
  enableChangelog INTEGER NOT NULL DEFAULT 1,
  log TEXT NOT NULL DEFAULT 'Database' CHECK (log IN ('Database', 'syslog', 'both')),
  updateTags INTEGER DEFAULT 0,
  enforceUnique INTEGER DEFAULT 1,
  decodeMAC INTEGER DEFAULT 1,
  pingStatus TEXT NOT NULL DEFAULT '1800;3600',
  version TEXT DEFAULT NULL,
  dbversion INTEGER NOT NULL DEFAULT 0,
  prettyLinks TEXT NOT NULL DEFAULT 'No' CHECK (prettyLinks IN ('Yes', 'No')),
  hiddenCustomFields TEXT DEFAULT NULL,
  editDate TEXT DEFAULT NULL
);

INSERT INTO settings (id, siteAdminName, siteAdminMail, siteDomain, version, dbversion)
VALUES (1, 'IPAM admin', 'ipam-admin@example.com', 'example.com', '1.82', 46);

CREATE TABLE nameservers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT COLLATE NOCASE NOT NULL,
  namesrv1 TEXT DEFAULT NULL,
  description TEXT COLLATE NOCASE DEFAULT NULL,
  permissions TEXT DEFAULT NULL,
  editDate TEXT DEFAULT NULL
);

-- editDate triggers. Columns are compared with IS NOT (NULL-safe) and COLLATE BINARY:
-- MariaDB compares the stored bytes, so a case-only hostname edit moves editDate too.

CREATE TRIGGER ipaddresses_editDate AFTER UPDATE ON ipaddresses
FOR EACH ROW
WHEN NEW.editDate IS OLD.editDate AND (
    NEW.id IS NOT OLD.id COLLATE BINARY
    OR NEW.subnetId IS NOT OLD.subnetId COLLATE BINARY
    OR NEW.ip_addr IS NOT OLD.ip_addr COLLATE BINARY
    OR NEW.is_gateway IS NOT OLD.is_gateway COLLATE BINARY
    OR NEW.description IS NOT OLD.description COLLATE BINARY
    OR NEW.hostname IS NOT OLD.hostname COLLATE BINARY
    OR NEW.mac IS NOT OLD.mac COLLATE BINARY
    OR NEW.owner IS NOT OLD.owner COLLATE BINARY
    OR NEW.state IS NOT OLD.state COLLATE BINARY
    OR NEW.switch IS NOT OLD.switch COLLATE BINARY
    OR NEW.location IS NOT OLD.location COLLATE BINARY
    OR NEW.port IS NOT OLD.port COLLATE BINARY
    OR NEW.note IS NOT OLD.note COLLATE BINARY
    OR NEW.lastSeen IS NOT OLD.lastSeen COLLATE BINARY
    OR NEW.excludePing IS NOT OLD.excludePing COLLATE BINARY
    OR NEW.PTRignore IS NOT OLD.PTRignore COLLATE BINARY
    OR NEW.PTR IS NOT OLD.PTR COLLATE BINARY
    OR NEW.firewallAddressObject IS NOT OLD.firewallAddressObject COLLATE BINARY
    OR NEW.customer_id IS NOT OLD.customer_id COLLATE BINARY
)
BEGIN
  UPDATE ipaddresses SET editDate = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;

CREATE TRIGGER subnets_editDate AFTER UPDATE ON subnets
FOR EACH ROW
WHEN NEW.editDate IS OLD.editDate AND (
    NEW.id IS NOT OLD.id COLLATE BINARY
    OR NEW.subnet IS NOT OLD.subnet COLLATE BINARY
    OR NEW.mask IS NOT OLD.mask COLLATE BINARY
    OR NEW.sectionId IS NOT OLD.sectionId COLLATE BINARY
    OR NEW.description IS NOT OLD.description COLLATE BINARY
    OR NEW.linked_subnet IS NOT OLD.linked_subnet COLLATE BINARY
    OR NEW.firewallAddressObject IS NOT OLD.firewallAddressObject COLLATE BINARY
    OR NEW.vrfId IS NOT OLD.vrfId COLLATE BINARY
    OR NEW.masterSubnetId IS NOT OLD.masterSubnetId COLLATE BINARY
    OR NEW.allowRequests IS NOT OLD.allowRequests COLLATE BINARY
    OR NEW.vlanId IS NOT OLD.vlanId COLLATE BINARY
    OR NEW.showName IS NOT OLD.showName COLLATE BINARY
    OR NEW.device IS NOT OLD.device COLLATE BINARY
    OR NEW.permissions IS NOT OLD.permissions COLLATE BINARY
    OR NEW.pingSubnet IS NOT OLD.pingSubnet COLLATE BINARY
    OR NEW.discoverSubnet IS NOT OLD.discoverSubnet COLLATE BINARY
    OR NEW.resolveDNS IS NOT OLD.resolveDNS COLLATE BINARY
    OR NEW.DNSrecursive IS NOT OLD.DNSrecursive COLLATE BINARY
    OR NEW.DNSrecords IS NOT OLD.DNSrecords COLLATE BINARY
    OR NEW.nameserverId IS NOT OLD.nameserverId COLLATE BINARY
    OR NEW.scanAgent IS NOT OLD.scanAgent COLLATE BINARY
    OR NEW.customer_id IS NOT OLD.customer_id COLLATE BINARY
    OR NEW.isFolder IS NOT OLD.isFolder COLLATE BINARY
    OR NEW.isFull IS NOT OLD.isFull COLLATE BINARY
    OR NEW.isPool IS NOT OLD.isPool COLLATE BINARY
    OR NEW.state IS NOT OLD.state COLLATE BINARY
    OR NEW.threshold IS NOT OLD.threshold COLLATE BINARY
    OR NEW.location IS NOT OLD.location COLLATE BINARY
    OR NEW.lastScan IS NOT OLD.lastScan COLLATE BINARY
    OR NEW.lastDiscovery IS NOT OLD.lastDiscovery COLLATE BINARY
)
BEGIN
  UPDATE subnets SET editDate = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;

CREATE TRIGGER sections_editDate AFTER UPDATE ON sections
FOR EACH ROW
WHEN NEW.editDate IS OLD.editDate AND (
    NEW.id IS NOT OLD.id COLLATE BINARY
    OR NEW.name IS NOT OLD.name COLLATE BINARY
    OR NEW.description IS NOT OLD.description COLLATE BINARY
    OR NEW.masterSection IS NOT OLD.masterSection COLLATE BINARY
    OR NEW.permissions IS NOT OLD.permissions COLLATE BINARY
    OR NEW.strictMode IS NOT OLD.strictMode COLLATE BINARY
    OR NEW.subnetOrdering IS NOT OLD.subnetOrdering COLLATE BINARY
    OR NEW."order" IS NOT OLD."order" COLLATE BINARY
    OR NEW.showSubnet IS NOT OLD.showSubnet COLLATE BINARY
    OR NEW.showVLAN IS NOT OLD.showVLAN COLLATE BINARY
    OR NEW.showVRF IS NOT OLD.showVRF COLLATE BINARY
    OR NEW.showSupernetOnly IS NOT OLD.showSupernetOnly COLLATE BINARY
    OR NEW.DNS IS NOT OLD.DNS COLLATE BINARY
)
BEGIN
  UPDATE sections SET editDate = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;

CREATE TRIGGER vrf_editDate AFTER UPDATE ON vrf
FOR EACH ROW
WHEN NEW.editDate IS OLD.editDate AND (
    NEW.vrfId IS NOT OLD.vrfId COLLATE BINARY
    OR NEW.name IS NOT OLD.name COLLATE BINARY
    OR NEW.rd IS NOT OLD.rd COLLATE BINARY
    OR NEW.description IS NOT OLD.description COLLATE BINARY
    OR NEW.sections IS NOT OLD.sections COLLATE BINARY
    OR NEW.customer_id IS NOT OLD.customer_id COLLATE BINARY
)
BEGIN
  UPDATE vrf SET editDate = CURRENT_TIMESTAMP WHERE vrfId = NEW.vrfId;
END;

CREATE TRIGGER users_editDate AFTER UPDATE ON users
FOR EACH ROW
WHEN NEW.editDate IS OLD.editDate AND (
    NEW.id IS NOT OLD.id COLLATE BINARY
    OR NEW.username IS NOT OLD.username COLLATE BINARY
    OR NEW.authMethod IS NOT OLD.authMethod COLLATE BINARY
    OR NEW.password IS NOT OLD.password COLLATE BINARY
    OR NEW."groups" IS NOT OLD."groups" COLLATE BINARY
    OR NEW.role IS NOT OLD.role COLLATE BINARY
    OR NEW.real_name IS NOT OLD.real_name COLLATE BINARY
    OR NEW.email IS NOT OLD.email COLLATE BINARY
    OR NEW.disabled IS NOT OLD.disabled COLLATE BINARY
    OR NEW.mailNotify IS NOT OLD.mailNotify COLLATE BINARY
    OR NEW.mailChangelog IS NOT OLD.mailChangelog COLLATE BINARY
    OR NEW.token IS NOT OLD.token COLLATE BINARY
    OR NEW.token_valid_until IS NOT OLD.token_valid_until COLLATE BINARY
    OR NEW.lastLogin IS NOT OLD.lastLogin COLLATE BINARY
    OR NEW.lastActivity IS NOT OLD.lastActivity COLLATE BINARY
    OR NEW.module_permissions IS NOT OLD.module_permissions COLLATE BINARY
)
BEGIN
  UPDATE users SET editDate = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;

CREATE TRIGGER settings_editDate AFTER UPDATE ON settings
FOR EACH ROW
WHEN NEW.editDate IS OLD.editDate AND (
    NEW.id IS NOT OLD.id COLLATE BINARY
    OR NEW.siteAdminName IS NOT OLD.siteAdminName COLLATE BINARY
    OR NEW.siteAdminMail IS NOT OLD.siteAdminMail COLLATE BINARY
    OR NEW.siteDomain IS NOT OLD.siteDomain COLLATE BINARY
    OR NEW.enableDNSresolving IS NOT OLD.enableDNSresolving COLLATE BINARY
    OR NEW.enablePowerDNS IS NOT OLD.enablePowerDNS COLLATE BINARY
    OR NEW.powerDNS IS NOT OLD.powerDNS COLLATE BINARY
    OR NEW.enableChangelog IS NOT OLD.enableChangelog COLLATE BINARY
    OR NEW.log IS NOT OLD.log COLLATE BINARY
    OR NEW.updateTags IS NOT OLD.updateTags COLLATE BINARY
    OR NEW.enforceUnique IS NOT OLD.enforceUnique COLLATE BINARY
    OR NEW.decodeMAC IS NOT OLD.decodeMAC COLLATE BINARY
    OR NEW.pingStatus IS NOT OLD.pingStatus COLLATE BINARY
    OR NEW.version IS NOT OLD.version COLLATE BINARY
    OR NEW.dbversion IS NOT OLD.dbversion COLLATE BINARY
    OR NEW.hiddenCustomFields IS NOT OLD.hiddenCustomFields COLLATE BINARY
)
BEGIN
  UPDATE settings SET editDate = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;

CREATE TRIGGER nameservers_editDate AFTER UPDATE ON nameservers
FOR EACH ROW
WHEN NEW.editDate IS OLD.editDate AND (
    NEW.id IS NOT OLD.id COLLATE BINARY
    OR NEW.name IS NOT OLD.name COLLATE BINARY
    OR NEW.namesrv1 IS NOT OLD.namesrv1 COLLATE BINARY
    OR NEW.description IS NOT OLD.description COLLATE BINARY
    OR NEW.permissions IS NOT OLD.permissions COLLATE BINARY
)
BEGIN
  UPDATE nameservers SET editDate = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;
