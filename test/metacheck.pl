#!/usr/bin/perl
#
# test/metacheck.pl DIR: META.json in DIR is valid PGXN meta-spec 1.0.0 and
# its versions equal default_version in DIR/kpi.control.  Prints what is
# wrong and exits 1, or prints "ok".
#
use strict;
use warnings;
use JSON::PP;

my $dir = shift // '.';
my @errors;

open(my $fh, '<', "$dir/META.json") or die "cannot open $dir/META.json: $!\n";
my $meta = eval { decode_json(do { local $/; <$fh> }) };
die "META.json is not valid JSON: $@" unless $meta;

open(my $ctl, '<', "$dir/kpi.control") or die "cannot open $dir/kpi.control: $!\n";
my ($control_version) = map { /^default_version\s*=\s*'([^']*)'/ ? $1 : () } <$ctl>;
push @errors, "kpi.control has no default_version" unless defined $control_version;

my $semver = qr/^\d+\.\d+\.\d+$/;
for my $key (qw(name version abstract maintainer license provides meta-spec)) {
	push @errors, "META.json lacks required key \"$key\"" unless exists $meta->{$key};
}
push @errors, "meta-spec version must be 1.0.x"
	unless ($meta->{'meta-spec'}{version} // '') =~ /^1\.0\.\d+$/;
push @errors, "version \"$meta->{version}\" is not SemVer x.y.z"
	unless ($meta->{version} // '') =~ $semver;
my %licenses = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd freebsd
	gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1 openssl
	perl_5 postgresql qpl_1_0 ssleay sun zlib restricted_distribution restrictive unrestricted
	open_source);
push @errors, "license \"$meta->{license}\" is not a PGXN license name"
	unless !ref($meta->{license}) && $licenses{$meta->{license} // ''};
my $kpi = $meta->{provides}{kpi};
if (!$kpi) {
	push @errors, "provides has no \"kpi\" entry";
} else {
	push @errors, "provides.kpi needs \"file\" and \"version\"" unless $kpi->{file} && $kpi->{version};
}
if (defined $control_version) {
	push @errors, "META.json version $meta->{version} differs from kpi.control $control_version"
		unless ($meta->{version} // '') eq $control_version;
	push @errors, "provides.kpi.version differs from kpi.control $control_version"
		unless ($kpi->{version} // '') eq $control_version;
	push @errors, "provides.kpi.file must be kpi--$control_version.sql"
		unless ($kpi->{file} // '') eq "kpi--$control_version.sql";
}

if (@errors) {
	print "$_\n" for @errors;
	exit 1;
}
print "ok\n";
