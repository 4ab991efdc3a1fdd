DROP TABLE bookings;
DROP TABLE unit_hours;
DROP TABLE units;
