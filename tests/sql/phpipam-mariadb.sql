-- The phpIPAM tables pphook reads, as phpIPAM 1.6-1.8 defines them on a fresh install.
--
-- Written for pphook's tests from the column facts in docs/phpipam-facts.md §1-§2
-- (names, SQL types, NULL/defaults, indexes, charset); it is not phpIPAM's SCHEMA.sql.
-- Only the tables pphook or its tests touch are here, and `settings` carries only the
-- columns pphook may look at.
--
-- Deliberate differences from a real install:
--   * No `customers` table, so the customer_id foreign keys (ON DELETE SET NULL) are
--     left out. The customer_id columns and their indexes stay, so the column sets and
--     key names match; nothing in pphook follows that key.
--   * Only the four default ipTags rows and one `settings` row are inserted; phpIPAM's
--     sample sections/subnets/addresses are not (tests write their own rows).
--
-- editDate is `TIMESTAMP NULL ON UPDATE CURRENT_TIMESTAMP` with no DEFAULT on purpose:
-- a freshly inserted row has editDate NULL until some other column changes, as in
-- phpIPAM (facts §4).
--
-- Loaded by tests/infra/mariadb.py into a database created with
-- CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci.

CREATE TABLE `ipaddresses` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `subnetId` int(11) unsigned DEFAULT NULL,
  `ip_addr` varchar(100) NOT NULL,
  `is_gateway` tinyint(1) NOT NULL DEFAULT 0,
  `description` varchar(64) DEFAULT NULL,
  `hostname` varchar(255) DEFAULT NULL,
  `mac` varchar(20) DEFAULT NULL,
  `owner` varchar(128) DEFAULT NULL,
  `state` int(3) DEFAULT 2,
  `switch` int(11) unsigned DEFAULT NULL,
  `location` int(11) unsigned DEFAULT NULL,
  `port` varchar(32) DEFAULT NULL,
  `note` text DEFAULT NULL,
  `lastSeen` datetime DEFAULT '1970-01-01 00:00:01',
  `excludePing` tinyint(1) NOT NULL DEFAULT 0,
  `PTRignore` tinyint(1) NOT NULL DEFAULT 0,
  `PTR` int(11) unsigned DEFAULT 0,
  `firewallAddressObject` varchar(100) DEFAULT NULL,
  `editDate` TIMESTAMP NULL ON UPDATE CURRENT_TIMESTAMP,
  `customer_id` int(11) unsigned DEFAULT NULL,
  PRIMARY KEY (`id`),
  -- per subnet, not global: the same IP may sit in several (nested/overlapping) subnets
  UNIQUE KEY `sid_ip_unique` (`ip_addr`, `subnetId`),
  KEY `subnetid` (`subnetId`),
  KEY `location` (`location`),
  KEY `customer_ip` (`customer_id`)
  -- no index on hostname or mac: phpIPAM has none either
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `subnets` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `subnet` varchar(255) DEFAULT NULL,
  `mask` varchar(3) DEFAULT NULL,
  `sectionId` int(11) unsigned DEFAULT NULL,
  `description` text DEFAULT NULL,
  `linked_subnet` int(11) unsigned DEFAULT NULL,
  `firewallAddressObject` varchar(100) DEFAULT NULL,
  `vrfId` int(11) unsigned DEFAULT NULL,
  `masterSubnetId` int(11) unsigned NOT NULL DEFAULT 0,
  `allowRequests` tinyint(1) NOT NULL DEFAULT 0,
  `vlanId` int(11) unsigned DEFAULT NULL,
  `showName` tinyint(1) NOT NULL DEFAULT 0,
  `device` int(10) unsigned DEFAULT 0,
  `permissions` varchar(1024) DEFAULT NULL,
  `pingSubnet` tinyint(1) NOT NULL DEFAULT 0,
  `discoverSubnet` tinyint(1) NOT NULL DEFAULT 0,
  `resolveDNS` tinyint(1) NOT NULL DEFAULT 0,
  `DNSrecursive` tinyint(1) NOT NULL DEFAULT 0,
  `DNSrecords` tinyint(1) NOT NULL DEFAULT 0,
  `nameserverId` int(11) DEFAULT 0,
  `scanAgent` int(11) DEFAULT NULL,
  `customer_id` int(11) unsigned DEFAULT NULL,
  `isFolder` tinyint(1) NOT NULL DEFAULT 0,
  `isFull` tinyint(1) NOT NULL DEFAULT 0,
  `isPool` tinyint(1) NOT NULL DEFAULT 0,
  `state` int(3) DEFAULT 2,
  `threshold` int(3) DEFAULT 0,
  `location` int(11) unsigned DEFAULT NULL,
  `editDate` TIMESTAMP NULL ON UPDATE CURRENT_TIMESTAMP,
  `lastScan` TIMESTAMP NULL DEFAULT NULL,
  `lastDiscovery` TIMESTAMP NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `masterSubnetId` (`masterSubnetId`),
  KEY `location` (`location`),
  KEY `sectionId` (`sectionId`),
  KEY `vrfId` (`vrfId`),
  KEY `customer_subnets` (`customer_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- sections is keyed by name; id is only a UNIQUE key (it still auto-increments).
CREATE TABLE `sections` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(128) NOT NULL DEFAULT '',
  `description` text DEFAULT NULL,
  `masterSection` int(11) DEFAULT 0,
  `permissions` varchar(1024) DEFAULT NULL,
  `strictMode` binary(1) NOT NULL DEFAULT '1',
  `subnetOrdering` varchar(16) DEFAULT NULL,
  `order` int(3) DEFAULT NULL,
  `editDate` TIMESTAMP NULL ON UPDATE CURRENT_TIMESTAMP,
  `showSubnet` tinyint(1) NOT NULL DEFAULT 1,
  `showVLAN` tinyint(1) NOT NULL DEFAULT 0,
  `showVRF` tinyint(1) NOT NULL DEFAULT 0,
  `showSupernetOnly` tinyint(1) NOT NULL DEFAULT 0,
  `DNS` varchar(128) DEFAULT NULL,
  PRIMARY KEY (`name`),
  UNIQUE KEY `id_2` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `vrf` (
  `vrfId` int(11) unsigned NOT NULL AUTO_INCREMENT,
  `name` varchar(32) NOT NULL DEFAULT '',
  `rd` varchar(32) DEFAULT NULL,
  `description` varchar(256) DEFAULT NULL,
  `sections` varchar(128) DEFAULT NULL,
  `editDate` TIMESTAMP NULL ON UPDATE CURRENT_TIMESTAMP,
  `customer_id` int(11) unsigned DEFAULT NULL,
  PRIMARY KEY (`vrfId`),
  KEY `customer_vrf` (`customer_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `ipTags` (
  `id` int(11) unsigned NOT NULL AUTO_INCREMENT,
  `type` varchar(32) DEFAULT NULL,
  `showtag` tinyint(4) DEFAULT 1,
  `bgcolor` varchar(7) DEFAULT '#000',
  `fgcolor` varchar(7) DEFAULT '#fff',
  `compress` set('No','Yes') NOT NULL DEFAULT 'No',
  `locked` set('No','Yes') NOT NULL DEFAULT 'No',
  `updateTag` tinyint(1) DEFAULT 0,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The four states every install has (facts §1.5); colours are our own choice.
INSERT INTO `ipTags` (`id`, `type`, `showtag`, `bgcolor`, `fgcolor`, `compress`, `locked`, `updateTag`)
VALUES
  (1, 'Offline',  1, '#f59c99', '#ffffff', 'No',  'Yes', 1),
  (2, 'Used',     0, '#a9c9a4', '#ffffff', 'No',  'Yes', 1),
  (3, 'Reserved', 1, '#9ac0cd', '#ffffff', 'No',  'Yes', 1),
  (4, 'DHCP',     1, '#c9c9c9', '#ffffff', 'Yes', 'Yes', 1);

CREATE TABLE `changelog` (
  `cid` int(11) unsigned NOT NULL AUTO_INCREMENT,
  `ctype` set('ip_addr','subnet','section') NOT NULL DEFAULT '',
  `coid` int(11) unsigned NOT NULL,
  `cuser` int(11) unsigned NOT NULL,
  `caction` enum('add','edit','delete','truncate','resize','perm_change') NOT NULL DEFAULT 'edit',
  `cresult` enum('error','success') NOT NULL DEFAULT 'success',
  `cdate` datetime NOT NULL,
  `cdiff` text DEFAULT NULL,
  PRIMARY KEY (`cid`),
  KEY `coid` (`coid`),
  KEY `ctype` (`ctype`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- users is keyed by username; id is only a UNIQUE key.
CREATE TABLE `users` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `username` varchar(255) NOT NULL DEFAULT '',
  `authMethod` int(2) DEFAULT 1,
  `password` char(128) DEFAULT NULL,
  `groups` varchar(1024) DEFAULT NULL,
  `role` text DEFAULT NULL,
  `real_name` varchar(128) DEFAULT NULL,
  `email` varchar(254) DEFAULT NULL,
  `disabled` enum('Yes','No') NOT NULL DEFAULT 'No',
  `mailNotify` enum('Yes','No') DEFAULT 'No',
  `mailChangelog` enum('Yes','No') DEFAULT 'No',
  `token` varchar(24) DEFAULT NULL,
  `token_valid_until` datetime DEFAULT NULL,
  `lastLogin` TIMESTAMP NULL DEFAULT NULL,
  `lastActivity` TIMESTAMP NULL DEFAULT NULL,
  `editDate` TIMESTAMP NULL ON UPDATE CURRENT_TIMESTAMP,
  `module_permissions` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`username`),
  UNIQUE KEY `id_2` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Only the settings columns listed in the facts (§1.8), plus prettyLinks (the form of
-- phpIPAM's own URLs, since 1.06; ENUM since 1.5.32); a real row has many more.
CREATE TABLE `settings` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `siteAdminName` varchar(64) DEFAULT NULL,
  `siteAdminMail` varchar(254) DEFAULT NULL,
  `siteDomain` varchar(32) DEFAULT NULL,
  `enableDNSresolving` tinyint(1) DEFAULT NULL,
  `enablePowerDNS` tinyint(1) DEFAULT 0,
  `powerDNS` text DEFAULT NULL,
  `enableChangelog` tinyint(1) NOT NULL DEFAULT 1,
  `log` enum('Database','syslog','both') NOT NULL DEFAULT 'Database',
  `updateTags` tinyint(1) DEFAULT 0,
  `enforceUnique` tinyint(1) DEFAULT 1,
  `decodeMAC` tinyint(1) DEFAULT 1,
  `pingStatus` varchar(32) NOT NULL DEFAULT '1800;3600',
  `version` varchar(5) DEFAULT NULL,
  `dbversion` int(8) NOT NULL DEFAULT 0,
  `prettyLinks` enum('Yes','No') NOT NULL DEFAULT 'No',
  `hiddenCustomFields` text DEFAULT NULL,
  `editDate` TIMESTAMP NULL ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The version stamp of phpIPAM 1.8.2 (facts §0).
INSERT INTO `settings` (`id`, `siteAdminName`, `siteAdminMail`, `siteDomain`, `version`, `dbversion`)
VALUES (1, 'IPAM admin', 'ipam-admin@example.com', 'example.com', '1.82', 46);

CREATE TABLE `nameservers` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `namesrv1` varchar(255) DEFAULT NULL,
  `description` text DEFAULT NULL,
  `permissions` varchar(128) DEFAULT NULL,
  `editDate` TIMESTAMP NULL ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
