"""Word lists for the offline demo engine (studio.llm.offline): names, places, soul templates, voices.

Plain data, no logic beyond small lookups. Templates use the slots {n} (a noun from the brief),
{place}, {rel}, {age}, {Age} and {thing}; the engine fills them.
"""

import re
import unicodedata

STOPWORDS = frozenset(
    """
    a about above after again against all also although always am among an and another any anyone anything are
    around as at away back be because been before being below between both but by can cannot could did do does
    doing done down during each either else enough even ever every few for from further get gets getting give
    given go goes going gone got had has have having he her here hers herself him himself his how however i if
    in into is it its itself just keep kind know last least less let like little lot make makes many may me
    might mine more most much must my myself near need needs never new next no nobody none nor not nothing now
    of off often on once one only onto or other others our ours ourselves out over own per perhaps please quite
    rather really same say says see seem seems several shall she should since so some somebody someone
    something sometimes somewhat still such than that the their theirs them themselves then there these they
    thing things this those though through thus to together too toward towards under until up upon us very via
    want wants was way we well were what whatever when where whether which while who whom whose why will with
    within without would yet you your yours yourself
    persona personas character characters brief create build write make generate someone somebody person people
    named called type sort style voice chatbot assistant should would could really very like
    """.split()
)

# Words that are rarely nouns in a brief; the soul templates need nouns ("the {n}").
NOT_NOUNS = frozenset(
    """
    quiet loud warm cold funny witty gentle grumpy shy bold brave lonely young old older elderly retired
    former tired angry kind cruel bitter sweet dark bright calm wild strange weird odd quirky serious
    playful sarcastic cheerful gloomy sad happy nervous anxious proud humble stubborn curious clever smart
    wise silly lazy busy rich poor famous unknown small large tiny huge little great good best better worse
    worst tall short thin slim heavy beautiful ugly pretty handsome elegant messy tidy rough soft hard
    early late modern ancient local foreign rural urban coastal northern southern eastern western
    obsessed secretly openly slowly quickly always never often rarely mostly still just nearly almost
    collects loves hates works lives runs keeps writes paints sings cooks fixes hides wants needs tries
    knows thinks believes speaks talks walks drives teaches owns sells buys reads plays dreams misses
    lost found broken hidden haunted forgotten widowed married divorced single exiled
    middle aged aging ageing twenties thirties forties fifties sixties seventies eighties
    female male woman man girl boy lady gentleman
    secretive creative protective sensitive impulsive expensive aggressive passive attractive competitive decisive
    intuitive pensive talkative inquisitive possessive reflective romantic melancholic chaotic eccentric sarcastic
    cynical practical musical formal casual loyal brutal magical mystical emotional nostalgic sentimental
    """.split()
)
# -ing words that are nouns; other -ing words are taken for verbs ("telling", "opening").
ING_NOUNS = frozenset(
    "painting building wedding morning evening clothing ceiling spring string king ring wing darling earring herring "
    "pudding dumpling sibling sailing gathering lightning offering stocking awning railing carving recording".split()
)
SOUL_TRAIT_CUES = {  # trait → (raising cues, lowering cues), read from the soul
    "openness": ("discover map story song learn understand write beaut wonder leave road".split(),
                 "tradition ordinary routine stay same".split()),
    "conscientiousness": ("control order certain guard secur promise ledger finish master steady".split(),
                          "free wander own terms chaos drift".split()),
    "extraversion": ("admired recogni celebrat applause welcom community table out loud song".split(),
                     "ordinary unnoticed quiet alone hidden silence blend".split()),
    "agreeableness": ("care heal help kind look after family welcom love loyal forgiv".split(),
                      "prove best fraud rival answer to no one pitied".split()),
    "neuroticism": ("abandon fraud trapped pitied failing midnight alone forget lost never".split(),
                    "calm peace steady content rest".split()),
}
NOUN_EXCEPTIONS = frozenset(  # nouns despite an adjective-like ending
    "holly jelly lily rally assembly supply folly anomaly melancholy vegetable timetable constable".split()
)
AGE_DECADES = {"teens": (15, 19), "twenties": (21, 29), "thirties": (31, 39), "forties": (41, 49), "fifties": (51, 59),
               "sixties": (61, 69), "seventies": (71, 79), "eighties": (81, 89)}
AGE_WORDS = (
    (("teen", "teenage", "teenager", "adolescent"), (15, 18)), (("student",), (18, 26)), (("young",), (21, 32)),
    (("middle-aged",), (42, 58)), (("retired", "pensioner"), (62, 84)), (("elderly", "aging", "ageing", "old"), (68, 86)),
    (("grandmother", "grandfather", "grandma", "grandpa", "grandparent"), (58, 84)), (("widow", "widower"), (45, 85)),
)
SHORT_NOUNS = frozenset("sea cat dog tea art war bar bee sky fog ice inn map pub rum van zoo car bus gin jam ink owl fox oak gym lab law pie".split())

FEMALE_CUES = frozenset(
    "she her hers woman women girl grandmother grandma mother mom mum aunt sister daughter widow queen actress "
    "waitress nun wife lady matriarch heroine landlady seamstress".split()
)
MALE_CUES = frozenset(
    "he him his man men boy grandfather grandpa father dad uncle brother son widower king monk husband "
    "gentleman patriarch hero landlord".split()
)

PERSON_WORDS = frozenset(
    "person people friend friends stranger strangers child children kids family neighbour neighbor neighbours "
    "someone everyone anyone partner husband wife lover".split()
) | FEMALE_CUES | MALE_CUES

# First names (female, male) and surnames by broad locale.
NAMES = {
    "anglo": (
        "Emma Grace Hazel June Ruth Nora Abigail Tessa Marlene Dolores".split(),
        "Walter Caleb Henry Otis Dale Wesley Marcus Eli Gordon Russell".split(),
        "Whitaker Hollis Carver Dunn Pruitt Lowell McKinney Sawyer Tate Bishop".split(),
    ),
    "british": (
        "Maud Harriet Imogen Philippa Bryony Elsie Rosalind Gwen".split(),
        "Alistair Nigel Clive Rupert Barnaby Giles Tobias Stanley".split(),
        "Pemberton Ashworth Fairclough Hebden Thwaite Cartwright Lister Oakes".split(),
    ),
    "irish": (
        "Siobhan Aoife Niamh Orla Maeve Roisin Clodagh Grainne".split(),
        "Declan Cathal Padraig Eoin Ciaran Fergal Donal Tadhg".split(),
        "O'Sullivan Mulcahy Kavanagh Flanagan Keane Duggan Brennan Gallagher".split(),
    ),
    "spanish": (
        "Lucía Carmen Pilar Inés Marisol Rocío Consuelo Amparo".split(),
        "Javier Ignacio Rafael Tomás Alfonso Paco Sergio Álvaro".split(),
        "Ortega Navarro Castillo Iglesias Montero Serrano Vidal Herrera".split(),
    ),
    "portuguese": (
        "Beatriz Leonor Graça Filipa Conceição Madalena Teresa Inês".split(),
        "João Duarte Afonso Rui Tiago Nuno Vasco Henrique".split(),
        "Carvalho Ferreira Sousa Almeida Pereira Marques Correia Fonseca".split(),
    ),
    "latin_american": (
        "Guadalupe Ximena Valentina Rosario Camila Itzel Paloma Yolanda".split(),
        "Mateo Emiliano Joaquín Rodrigo Esteban Santiago Ramiro Ulises".split(),
        "Hernández Villalobos Quispe Mendoza Ríos Salazar Cárdenas Arriaga".split(),
    ),
    "brazilian": (
        "Luana Thaís Jussara Raíssa Francisca Glória Marília Dandara".split(),
        "Thiago Caio Wellington Raimundo Gustavo Edson Jorge Renan".split(),
        "Nascimento Oliveira Barbosa Cavalcanti Moreira Teixeira Rocha Santana".split(),
    ),
    "french": (
        "Colette Margaux Solène Odile Élise Séverine Amélie Hélène".split(),
        "Étienne Luc Gaspard Benoît Thibault Rémi Olivier Yves".split(),
        "Lefebvre Moreau Girard Fontaine Chevalier Marchand Dubois Roussel".split(),
    ),
    "italian": (
        "Giulia Rosaria Chiara Lucia Franca Ornella Serena Agnese".split(),
        "Salvatore Matteo Enzo Giacomo Vittorio Carlo Aldo Dario".split(),
        "Esposito Ferraro Bianchi Lombardi Galli Moretti Rinaldi Caruso".split(),
    ),
    "german": (
        "Greta Ingrid Annelie Hannelore Liesel Katrin Friederike Jutta".split(),
        "Jürgen Matthias Konrad Dieter Lukas Wolfgang Florian Heinrich".split(),
        "Brandt Vogel Hartmann Krüger Schreiber Lindner Wagner Fuchs".split(),
    ),
    "nordic": (
        "Sigrid Astrid Liv Solveig Freja Ingeborg Maja Tove".split(),
        "Bjørn Anders Leif Magnus Henrik Eskil Olav Torsten".split(),
        "Lindqvist Halvorsen Nyberg Sørensen Dahl Eklund Berg Johansen".split(),
    ),
    "dutch": (
        "Femke Anouk Marieke Lotte Sanne Ineke Griet Noor".split(),
        "Joost Pieter Bram Maarten Sjoerd Daan Wouter Kees".split(),
        "Visser Bakker Smit Mulder Jansen Dekker Brouwer Hendriks".split(),
    ),
    "slavic": (
        "Agnieszka Katarzyna Olena Milena Zofia Tatiana Ludmila Jana".split(),
        "Tomasz Dmitri Pavel Bohdan Marek Oleksandr Václav Igor".split(),
        "Kowalski Nowak Petrenko Dvořák Sokolov Horvat Wiśniewski Novák".split(),
    ),
    "greek": (
        "Eleni Katerina Despina Fotini Kalliope Sofia Vasiliki Ariadne".split(),
        "Yannis Nikos Stavros Kostas Dimitris Thanasis Giorgos Spyros".split(),
        "Papadakis Georgiou Vlachos Mavridis Kontos Angelopoulos Stathopoulos Demetriou".split(),
    ),
    "turkish": (
        "Ayşe Elif Zeynep Nermin Hülya Defne Sevgi Gül".split(),
        "Mehmet Emre Orhan Kemal Murat Cem Selim Tarık".split(),
        "Yılmaz Demir Aydın Kaya Çelik Şahin Öztürk Arslan".split(),
    ),
    "arabic": (
        "Layla Yasmin Nour Samira Huda Rania Mariam Salma".split(),
        "Karim Youssef Tariq Samir Omar Nabil Hassan Walid".split(),
        "Haddad Khoury Mansour El-Amin Saleh Nasser Bakri Darwish".split(),
    ),
    "persian": (
        "Shirin Parisa Maryam Leila Azadeh Roya Nasrin Golnar".split(),
        "Dariush Kaveh Babak Reza Arash Farhad Kourosh Siamak".split(),
        "Tehrani Farahani Rostami Karimi Ahmadi Sadeghi Jafari Moradi".split(),
    ),
    "indian": (
        "Meera Ananya Kavya Lakshmi Priya Sunita Radhika Nandini".split(),
        "Arjun Vikram Rohan Sanjay Anil Kiran Ravi Siddharth".split(),
        "Iyer Sharma Banerjee Nair Kulkarni Reddy Mehta Chatterjee".split(),
    ),
    "chinese": (
        "Mei Lan Hui Jing Yan Ling Fang Xiaoling".split(),
        "Wei Jun Hao Ming Tao Zhiqiang Lei Bo".split(),
        "Chen Wang Li Zhang Liu Huang Zhou Lin".split(),
    ),
    "japanese": (
        "Yuki Haruko Aiko Naoko Sachiko Emi Fumiko Rin".split(),
        "Kenji Hiroshi Takeshi Daisuke Shoji Ren Makoto Tetsuo".split(),
        "Tanaka Nakamura Watanabe Sato Kobayashi Yamamoto Ishikawa Mori".split(),
    ),
    "korean": (
        "Ji-woo Seo-yeon Min-ji Hye-jin Eun-ji Soo-ah Yeon-hee Da-eun".split(),
        "Min-jun Jae-won Sung-ho Dong-hyun Hyun-woo Tae-yang Seung-min Jin-ho".split(),
        "Kim Park Lee Choi Jung Kang Yoon Han".split(),
    ),
    "vietnamese": (
        "Mai Thu Hoa Linh Ngoc Huong Trang Phuong".split(),
        "Minh Tuan Duc Hung Quang Bao Khoa Long".split(),
        "Nguyen Tran Le Pham Hoang Vu Dang Bui".split(),
    ),
    "filipino": (
        "Maricel Luzviminda Rosalinda Divina Analyn Corazon Marites Jocelyn".split(),
        "Rodel Jomar Ramil Efren Arnel Jericho Dante Ronaldo".split(),
        "Santos Reyes Bautista Villanueva Mercado Aquino Ramos Dimaculangan".split(),
    ),
    "west_african": (
        "Adaeze Ngozi Abena Folake Chiamaka Efua Yetunde Ama".split(),
        "Chinedu Kwame Tunde Kofi Emeka Femi Yaw Obinna".split(),
        "Okafor Mensah Adeyemi Boateng Eze Owusu Balogun Nwosu".split(),
    ),
    "east_african": (
        "Wanjiru Amina Makeda Achieng Zawadi Selam Nyokabi Hiwot".split(),
        "Kamau Otieno Tesfaye Baraka Mwangi Dawit Juma Kiprono".split(),
        "Njoroge Ochieng Haile Mutua Kariuki Tadesse Omondi Bekele".split(),
    ),
}

# First name → locale group, for the audit's name/locale check.
FIRST_NAME_GROUP = {name: group for group, (fem, masc, _) in NAMES.items() for name in fem + masc}
# First name → "f" or "m", for the audit's name/pronoun check (a name in both lists has no gender here).
FIRST_NAME_GENDER = {
    name: gender for fem, masc, _ in NAMES.values() for gender, names in (("f", fem), ("m", masc)) for name in names
    if not any(name in (other_fem if gender == "m" else other_masc) for other_fem, other_masc, _ in NAMES.values())
}

# Places: ascii lowercase key → (city, country, locale group). Cities first, then countries and demonyms.
CITIES = {
    "lisbon": ("Lisbon", "Portugal", "portuguese"), "porto": ("Porto", "Portugal", "portuguese"),
    "coimbra": ("Coimbra", "Portugal", "portuguese"), "madrid": ("Madrid", "Spain", "spanish"),
    "barcelona": ("Barcelona", "Spain", "spanish"), "seville": ("Seville", "Spain", "spanish"),
    "valencia": ("Valencia", "Spain", "spanish"), "bilbao": ("Bilbao", "Spain", "spanish"),
    "paris": ("Paris", "France", "french"), "marseille": ("Marseille", "France", "french"),
    "lyon": ("Lyon", "France", "french"), "brittany": ("Brittany", "France", "french"),
    "rome": ("Rome", "Italy", "italian"), "naples": ("Naples", "Italy", "italian"),
    "milan": ("Milan", "Italy", "italian"), "venice": ("Venice", "Italy", "italian"),
    "florence": ("Florence", "Italy", "italian"), "palermo": ("Palermo", "Italy", "italian"),
    "sicily": ("Sicily", "Italy", "italian"), "berlin": ("Berlin", "Germany", "german"),
    "hamburg": ("Hamburg", "Germany", "german"), "munich": ("Munich", "Germany", "german"),
    "vienna": ("Vienna", "Austria", "german"), "zurich": ("Zurich", "Switzerland", "german"),
    "amsterdam": ("Amsterdam", "the Netherlands", "dutch"), "rotterdam": ("Rotterdam", "the Netherlands", "dutch"),
    "copenhagen": ("Copenhagen", "Denmark", "nordic"), "stockholm": ("Stockholm", "Sweden", "nordic"),
    "oslo": ("Oslo", "Norway", "nordic"), "bergen": ("Bergen", "Norway", "nordic"),
    "helsinki": ("Helsinki", "Finland", "nordic"), "reykjavik": ("Reykjavík", "Iceland", "nordic"),
    "dublin": ("Dublin", "Ireland", "irish"), "galway": ("Galway", "Ireland", "irish"),
    "cork": ("Cork", "Ireland", "irish"), "belfast": ("Belfast", "Northern Ireland", "irish"),
    "london": ("London", "England", "british"), "manchester": ("Manchester", "England", "british"),
    "liverpool": ("Liverpool", "England", "british"), "yorkshire": ("Yorkshire", "England", "british"),
    "cornwall": ("Cornwall", "England", "british"), "glasgow": ("Glasgow", "Scotland", "british"),
    "edinburgh": ("Edinburgh", "Scotland", "british"), "cardiff": ("Cardiff", "Wales", "british"),
    "new york": ("New York", "USA", "anglo"), "brooklyn": ("Brooklyn", "USA", "anglo"),
    "chicago": ("Chicago", "USA", "anglo"), "boston": ("Boston", "USA", "anglo"),
    "new orleans": ("New Orleans", "USA", "anglo"), "los angeles": ("Los Angeles", "USA", "anglo"),
    "san francisco": ("San Francisco", "USA", "anglo"), "seattle": ("Seattle", "USA", "anglo"),
    "detroit": ("Detroit", "USA", "anglo"), "texas": ("Texas", "USA", "anglo"),
    "maine": ("Maine", "USA", "anglo"), "alaska": ("Alaska", "USA", "anglo"),
    "montana": ("Montana", "USA", "anglo"), "appalachia": ("Appalachia", "USA", "anglo"),
    "toronto": ("Toronto", "Canada", "anglo"), "vancouver": ("Vancouver", "Canada", "anglo"),
    "montreal": ("Montreal", "Canada", "french"), "quebec": ("Quebec", "Canada", "french"),
    "sydney": ("Sydney", "Australia", "anglo"), "melbourne": ("Melbourne", "Australia", "anglo"),
    "auckland": ("Auckland", "New Zealand", "anglo"), "mexico city": ("Mexico City", "Mexico", "latin_american"),
    "oaxaca": ("Oaxaca", "Mexico", "latin_american"), "buenos aires": ("Buenos Aires", "Argentina", "latin_american"),
    "lima": ("Lima", "Peru", "latin_american"), "cusco": ("Cusco", "Peru", "latin_american"),
    "bogota": ("Bogotá", "Colombia", "latin_american"), "medellin": ("Medellín", "Colombia", "latin_american"),
    "havana": ("Havana", "Cuba", "latin_american"), "valparaiso": ("Valparaíso", "Chile", "latin_american"),
    "sao paulo": ("São Paulo", "Brazil", "brazilian"), "rio de janeiro": ("Rio de Janeiro", "Brazil", "brazilian"),
    "salvador": ("Salvador", "Brazil", "brazilian"), "recife": ("Recife", "Brazil", "brazilian"),
    "lagos": ("Lagos", "Nigeria", "west_african"), "accra": ("Accra", "Ghana", "west_african"),
    "kumasi": ("Kumasi", "Ghana", "west_african"), "nairobi": ("Nairobi", "Kenya", "east_african"),
    "mombasa": ("Mombasa", "Kenya", "east_african"), "addis ababa": ("Addis Ababa", "Ethiopia", "east_african"),
    "cairo": ("Cairo", "Egypt", "arabic"), "alexandria": ("Alexandria", "Egypt", "arabic"),
    "marrakesh": ("Marrakesh", "Morocco", "arabic"), "casablanca": ("Casablanca", "Morocco", "arabic"),
    "beirut": ("Beirut", "Lebanon", "arabic"), "amman": ("Amman", "Jordan", "arabic"),
    "istanbul": ("Istanbul", "Turkey", "turkish"), "izmir": ("Izmir", "Turkey", "turkish"),
    "tehran": ("Tehran", "Iran", "persian"), "isfahan": ("Isfahan", "Iran", "persian"),
    "mumbai": ("Mumbai", "India", "indian"), "delhi": ("Delhi", "India", "indian"),
    "kolkata": ("Kolkata", "India", "indian"), "chennai": ("Chennai", "India", "indian"),
    "bangalore": ("Bangalore", "India", "indian"), "kerala": ("Kerala", "India", "indian"),
    "tokyo": ("Tokyo", "Japan", "japanese"), "osaka": ("Osaka", "Japan", "japanese"),
    "kyoto": ("Kyoto", "Japan", "japanese"), "hokkaido": ("Hokkaido", "Japan", "japanese"),
    "okinawa": ("Okinawa", "Japan", "japanese"), "seoul": ("Seoul", "South Korea", "korean"),
    "busan": ("Busan", "South Korea", "korean"), "shanghai": ("Shanghai", "China", "chinese"),
    "beijing": ("Beijing", "China", "chinese"), "chengdu": ("Chengdu", "China", "chinese"),
    "hong kong": ("Hong Kong", "China", "chinese"), "taipei": ("Taipei", "Taiwan", "chinese"),
    "singapore": ("Singapore", "Singapore", "chinese"), "hanoi": ("Hanoi", "Vietnam", "vietnamese"),
    "saigon": ("Saigon", "Vietnam", "vietnamese"), "ho chi minh city": ("Ho Chi Minh City", "Vietnam", "vietnamese"),
    "manila": ("Manila", "the Philippines", "filipino"), "cebu": ("Cebu", "the Philippines", "filipino"),
    "athens": ("Athens", "Greece", "greek"), "thessaloniki": ("Thessaloniki", "Greece", "greek"),
    "crete": ("Crete", "Greece", "greek"), "warsaw": ("Warsaw", "Poland", "slavic"),
    "krakow": ("Kraków", "Poland", "slavic"), "prague": ("Prague", "Czechia", "slavic"),
    "budapest": ("Budapest", "Hungary", "slavic"), "moscow": ("Moscow", "Russia", "slavic"),
    "kyiv": ("Kyiv", "Ukraine", "slavic"), "odesa": ("Odesa", "Ukraine", "slavic"),
    "zagreb": ("Zagreb", "Croatia", "slavic"),
    # Neighbourhoods and regions (NEIGHBOURHOOD_CITY says which city a neighbourhood belongs to).
    "alfama": ("Alfama", "Portugal", "portuguese"), "mouraria": ("Mouraria", "Portugal", "portuguese"),
    "bairro alto": ("Bairro Alto", "Portugal", "portuguese"), "sintra": ("Sintra", "Portugal", "portuguese"),
    "cascais": ("Cascais", "Portugal", "portuguese"), "algarve": ("the Algarve", "Portugal", "portuguese"),
    "madeira": ("Madeira", "Portugal", "portuguese"), "azores": ("the Azores", "Portugal", "portuguese"),
    "kerry": ("Kerry", "Ireland", "irish"), "donegal": ("Donegal", "Ireland", "irish"),
    "connemara": ("Connemara", "Ireland", "irish"), "limerick": ("Limerick", "Ireland", "irish"),
    "sapporo": ("Sapporo", "Japan", "japanese"), "nagasaki": ("Nagasaki", "Japan", "japanese"),
    "hiroshima": ("Hiroshima", "Japan", "japanese"), "nara": ("Nara", "Japan", "japanese"),
    "guadalajara": ("Guadalajara", "Mexico", "latin_american"), "veracruz": ("Veracruz", "Mexico", "latin_american"),
    "puebla": ("Puebla", "Mexico", "latin_american"), "yucatan": ("Yucatán", "Mexico", "latin_american"),
}
COUNTRIES = {
    "portugal": ("Portugal", "portuguese", ("Lisbon", "Porto", "Coimbra")),
    "portuguese": ("Portugal", "portuguese", ("Lisbon", "Porto", "Coimbra")),
    "spain": ("Spain", "spanish", ("Madrid", "Seville", "Valencia")),
    "spanish": ("Spain", "spanish", ("Madrid", "Seville", "Valencia")),
    "france": ("France", "french", ("Paris", "Lyon", "Marseille")),
    "french": ("France", "french", ("Paris", "Lyon", "Marseille")),
    "italy": ("Italy", "italian", ("Naples", "Rome", "Bologna")),
    "italian": ("Italy", "italian", ("Naples", "Rome", "Bologna")),
    "germany": ("Germany", "german", ("Berlin", "Hamburg", "Leipzig")),
    "german": ("Germany", "german", ("Berlin", "Hamburg", "Leipzig")),
    "norway": ("Norway", "nordic", ("Bergen", "Tromsø", "Oslo")),
    "norwegian": ("Norway", "nordic", ("Bergen", "Tromsø", "Oslo")),
    "sweden": ("Sweden", "nordic", ("Gothenburg", "Malmö", "Stockholm")),
    "swedish": ("Sweden", "nordic", ("Gothenburg", "Malmö", "Stockholm")),
    "denmark": ("Denmark", "nordic", ("Copenhagen", "Aarhus", "Odense")),
    "danish": ("Denmark", "nordic", ("Copenhagen", "Aarhus", "Odense")),
    "iceland": ("Iceland", "nordic", ("Reykjavík", "Akureyri", "Ísafjörður")),
    "icelandic": ("Iceland", "nordic", ("Reykjavík", "Akureyri", "Ísafjörður")),
    "ireland": ("Ireland", "irish", ("Dublin", "Galway", "Cork")),
    "irish": ("Ireland", "irish", ("Dublin", "Galway", "Cork")),
    "england": ("England", "british", ("Leeds", "Bristol", "Norwich")),
    "english": ("England", "british", ("Leeds", "Bristol", "Norwich")),
    "british": ("England", "british", ("Leeds", "Bristol", "Norwich")),
    "scotland": ("Scotland", "british", ("Glasgow", "Aberdeen", "Dundee")),
    "scottish": ("Scotland", "british", ("Glasgow", "Aberdeen", "Dundee")),
    "wales": ("Wales", "british", ("Cardiff", "Swansea", "Aberystwyth")),
    "welsh": ("Wales", "british", ("Cardiff", "Swansea", "Aberystwyth")),
    "netherlands": ("the Netherlands", "dutch", ("Utrecht", "Rotterdam", "Groningen")),
    "dutch": ("the Netherlands", "dutch", ("Utrecht", "Rotterdam", "Groningen")),
    "poland": ("Poland", "slavic", ("Kraków", "Gdańsk", "Łódź")),
    "polish": ("Poland", "slavic", ("Kraków", "Gdańsk", "Łódź")),
    "ukraine": ("Ukraine", "slavic", ("Kyiv", "Lviv", "Odesa")),
    "ukrainian": ("Ukraine", "slavic", ("Kyiv", "Lviv", "Odesa")),
    "russia": ("Russia", "slavic", ("Saint Petersburg", "Kazan", "Novosibirsk")),
    "russian": ("Russia", "slavic", ("Saint Petersburg", "Kazan", "Novosibirsk")),
    "greece": ("Greece", "greek", ("Athens", "Thessaloniki", "Chania")),
    "greek": ("Greece", "greek", ("Athens", "Thessaloniki", "Chania")),
    "turkey": ("Turkey", "turkish", ("Istanbul", "Izmir", "Trabzon")),
    "turkish": ("Turkey", "turkish", ("Istanbul", "Izmir", "Trabzon")),
    "mexico": ("Mexico", "latin_american", ("Mexico City", "Oaxaca", "Guadalajara")),
    "mexican": ("Mexico", "latin_american", ("Mexico City", "Oaxaca", "Guadalajara")),
    "argentina": ("Argentina", "latin_american", ("Buenos Aires", "Rosario", "Córdoba")),
    "argentinian": ("Argentina", "latin_american", ("Buenos Aires", "Rosario", "Córdoba")),
    "peru": ("Peru", "latin_american", ("Lima", "Cusco", "Arequipa")),
    "peruvian": ("Peru", "latin_american", ("Lima", "Cusco", "Arequipa")),
    "colombia": ("Colombia", "latin_american", ("Bogotá", "Medellín", "Cartagena")),
    "colombian": ("Colombia", "latin_american", ("Bogotá", "Medellín", "Cartagena")),
    "cuba": ("Cuba", "latin_american", ("Havana", "Santiago de Cuba", "Trinidad")),
    "cuban": ("Cuba", "latin_american", ("Havana", "Santiago de Cuba", "Trinidad")),
    "chile": ("Chile", "latin_american", ("Valparaíso", "Santiago", "Valdivia")),
    "chilean": ("Chile", "latin_american", ("Valparaíso", "Santiago", "Valdivia")),
    "brazil": ("Brazil", "brazilian", ("São Paulo", "Salvador", "Belém")),
    "brazilian": ("Brazil", "brazilian", ("São Paulo", "Salvador", "Belém")),
    "nigeria": ("Nigeria", "west_african", ("Lagos", "Ibadan", "Enugu")),
    "nigerian": ("Nigeria", "west_african", ("Lagos", "Ibadan", "Enugu")),
    "ghana": ("Ghana", "west_african", ("Accra", "Kumasi", "Cape Coast")),
    "ghanaian": ("Ghana", "west_african", ("Accra", "Kumasi", "Cape Coast")),
    "kenya": ("Kenya", "east_african", ("Nairobi", "Mombasa", "Kisumu")),
    "kenyan": ("Kenya", "east_african", ("Nairobi", "Mombasa", "Kisumu")),
    "ethiopia": ("Ethiopia", "east_african", ("Addis Ababa", "Gondar", "Bahir Dar")),
    "ethiopian": ("Ethiopia", "east_african", ("Addis Ababa", "Gondar", "Bahir Dar")),
    "egypt": ("Egypt", "arabic", ("Cairo", "Alexandria", "Luxor")),
    "egyptian": ("Egypt", "arabic", ("Cairo", "Alexandria", "Luxor")),
    "morocco": ("Morocco", "arabic", ("Fez", "Marrakesh", "Tangier")),
    "moroccan": ("Morocco", "arabic", ("Fez", "Marrakesh", "Tangier")),
    "lebanon": ("Lebanon", "arabic", ("Beirut", "Tripoli", "Byblos")),
    "lebanese": ("Lebanon", "arabic", ("Beirut", "Tripoli", "Byblos")),
    "iran": ("Iran", "persian", ("Tehran", "Isfahan", "Shiraz")),
    "iranian": ("Iran", "persian", ("Tehran", "Isfahan", "Shiraz")),
    "persian": ("Iran", "persian", ("Tehran", "Isfahan", "Shiraz")),
    "india": ("India", "indian", ("Mumbai", "Kochi", "Jaipur")),
    "indian": ("India", "indian", ("Mumbai", "Kochi", "Jaipur")),
    "japan": ("Japan", "japanese", ("Osaka", "Sendai", "Kanazawa")),
    "japanese": ("Japan", "japanese", ("Osaka", "Sendai", "Kanazawa")),
    "korea": ("South Korea", "korean", ("Seoul", "Busan", "Jeonju")),
    "korean": ("South Korea", "korean", ("Seoul", "Busan", "Jeonju")),
    "china": ("China", "chinese", ("Chengdu", "Shanghai", "Xi'an")),
    "chinese": ("China", "chinese", ("Chengdu", "Shanghai", "Xi'an")),
    "taiwan": ("Taiwan", "chinese", ("Taipei", "Tainan", "Kaohsiung")),
    "taiwanese": ("Taiwan", "chinese", ("Taipei", "Tainan", "Kaohsiung")),
    "vietnam": ("Vietnam", "vietnamese", ("Hanoi", "Hue", "Da Nang")),
    "vietnamese": ("Vietnam", "vietnamese", ("Hanoi", "Hue", "Da Nang")),
    "philippines": ("the Philippines", "filipino", ("Manila", "Cebu", "Davao")),
    "filipino": ("the Philippines", "filipino", ("Manila", "Cebu", "Davao")),
    "america": ("USA", "anglo", ("Pittsburgh", "Duluth", "Tucson")),
    "american": ("USA", "anglo", ("Pittsburgh", "Duluth", "Tucson")),
    "canada": ("Canada", "anglo", ("Halifax", "Winnipeg", "Toronto")),
    "canadian": ("Canada", "anglo", ("Halifax", "Winnipeg", "Toronto")),
    "australia": ("Australia", "anglo", ("Hobart", "Adelaide", "Melbourne")),
    "australian": ("Australia", "anglo", ("Hobart", "Adelaide", "Melbourne")),
}
NEIGHBOURHOOD_CITY = {"Alfama": "Lisbon", "Mouraria": "Lisbon", "Bairro Alto": "Lisbon"}
# Words that place a persona in a culture when the brief names no place ("a fado singer"): word → a COUNTRIES key.
CULTURE_CUES = {
    "fado": "portugal", "flamenco": "spain", "mariachi": "mexico", "samba": "brazil", "tango": "argentina",
    "izakaya": "japan", "geisha": "japan", "samurai": "japan", "bouzouki": "greece", "gaelic": "ireland",
    "ceili": "ireland", "sean-nos": "ireland", "bossa": "brazil", "rebetiko": "greece", "kimchi": "korea",
}
# When the brief names no place: (location, locale group).
UNSPECIFIED_LOCATIONS = (
    ("a harbour town on the Maine coast", "anglo"), ("Duluth, Minnesota", "anglo"), ("Pittsburgh, Pennsylvania", "anglo"),
    ("Tucson, Arizona", "anglo"), ("Leeds, England", "british"), ("Hebden Bridge, Yorkshire", "british"),
    ("Cork, Ireland", "irish"), ("Bergen, Norway", "nordic"), ("Porto, Portugal", "portuguese"),
    ("Valencia, Spain", "spanish"), ("Lyon, France", "french"), ("Bologna, Italy", "italian"),
    ("Leipzig, Germany", "german"), ("Utrecht, the Netherlands", "dutch"), ("Kraków, Poland", "slavic"),
    ("Thessaloniki, Greece", "greek"), ("Izmir, Turkey", "turkish"), ("Beirut, Lebanon", "arabic"),
    ("Kochi, India", "indian"), ("Osaka, Japan", "japanese"), ("Busan, South Korea", "korean"),
    ("Tainan, Taiwan", "chinese"), ("Hue, Vietnam", "vietnamese"), ("Cebu, the Philippines", "filipino"),
    ("Accra, Ghana", "west_african"), ("Mombasa, Kenya", "east_african"), ("Oaxaca, Mexico", "latin_american"),
    ("Salvador, Brazil", "brazilian"), ("Halifax, Nova Scotia", "anglo"), ("Hobart, Tasmania", "anglo"),
)
UNSPECIFIED_PLACES = ("the old neighbourhood", "their hometown", "the valley", "the harbour town", "the estate", "the river town")

GENRES = {
    "noir": "detective rain crime murder investigator gangster cop police case smoke whisky".split(),
    "fantasy": "dragon magic wizard witch kingdom sword spell elf castle quest knight sorcerer potion".split(),
    "science fiction": "space android robot colony starship planet future cyber alien station orbit ai mars".split(),
    "romance": "love heart romance lover wedding crush date courtship".split(),
    "slice of life": "cafe bakery neighbourhood neighborhood shop kitchen garden street market village tea".split(),
    "historical": "century victorian medieval war empire era wartime 1920s 1950s 1960s 1970s 1980s".split(),
    "comedy": "funny comic silly absurd joke prank comedian hilarious".split(),
    "horror": "haunted ghost monster creepy cursed blood undead graveyard".split(),
    "coming-of-age": "teenager teen school student young graduation adolescent".split(),
    "workplace drama": "office hospital startup company shift boss restaurant newsroom clinic".split(),
    "adventure": "ship sea island explorer expedition mountain journey sailor voyage".split(),
    "thriller": "spy secret agent conspiracy hunted escape informant smuggler".split(),
    "mystery": "mystery clue missing disappeared puzzle riddle vanished".split(),
    "folk tale": "forest wolf river legend folk spirits fable".split(),
    "family saga": "family grandmother grandfather daughter son inheritance generations".split(),
    "literary fiction": "memory grief loss letters silence regret widow widower".split(),
}
DEFAULT_GENRES = ("character study", "literary fiction", "slice of life", "drama", "quiet drama", "contemporary realism")
GENRE_SUFFIXES = ("story", "drama", "portrait", "tale")

TONAL_AXES = {
    "warmth": ("warm kind gentle cozy cosy tender loving caring friendly sweet generous".split(),
               "cold cruel bitter harsh grumpy cynical ruthless".split()),
    "humor": ("funny witty comic quirky playful silly sarcastic wry jokes comedian".split(),
              "serious grave solemn grim".split()),
    "darkness": ("dark grim haunted murder crime war grief noir death violent bleak cursed".split(),
                 "light sunny cheerful bright".split()),
    "formality": ("formal aristocratic professional polite proper corporate scholarly academic butler".split(),
                  "casual street slang rough punk scrappy".split()),
    "energy": ("energetic loud bold lively restless wild fast chaotic exuberant".split(),
               "quiet calm slow still shy sleepy gentle introverted".split()),
    "melancholy": ("lonely sad grief lost widow widower nostalgic melancholy regret mourning".split(),
                   "joyful happy hopeful cheerful".split()),
    "whimsy": ("magical whimsical fairy dream strange odd eccentric quirky enchanted".split(),
               "realistic gritty practical".split()),
    "tension": ("secret danger spy thriller hunted suspicious paranoid threat".split(),
                "peaceful safe cozy cosy calm".split()),
}

# What a brief says about temperament: trait → (raising words, lowering words).
BRIEF_TRAIT_CUES = {
    "openness": ("curious creative dreamy artistic eccentric inventive adventurous imaginative".split(),
                 "traditional conventional stubborn rigid old-fashioned".split()),
    "conscientiousness": ("meticulous organised organized disciplined neat punctual careful precise dutiful".split(),
                          "messy lazy chaotic disorganised disorganized careless reckless".split()),
    "extraversion": ("loud cheerful outgoing lively bubbly chatty talkative flamboyant charismatic boisterous".split(),
                     "shy quiet introverted reserved reclusive withdrawn secretive lonely".split()),
    "agreeableness": ("gentle kind warm generous sweet caring friendly patient".split(),
                      "grumpy cynical cold bitter ruthless prickly arrogant stubborn".split()),
    "neuroticism": ("anxious nervous restless worried fragile paranoid haunted widowed".split(),
                    "calm serene steady unflappable easygoing".split()),
}

# Temperament a brief states outright, and what every layer must then honour (studio.llm.offline.reading reads
# the brief; the engine honours it and the audit checks it). Per trait:
#   cues       a regular expression for one word (or "says sorry"-style pair) of the brief
#   ambiguous  cue words that also describe things ("a cold sea", "a warm kitchen"): they count only where they
#              describe the persona (next to a person or occupation word, or said of them: "is cold", "cold and …")
#   big_five   bounds on Big Five values; energy / warmth: bounds on the voice's energy and the tone's warmth
#   unlike     the soul's desire families it contradicts; wounds: cue substrings of fitting wound templates
#   tones      (tone, energy, warmth) the mask's tone is chosen from; phrases: signature phrases it brings
#   must_say   stems one signature phrase must carry; clashes: voice words (register, rhythm, tone) that contradict it
_LOUD_VOICE = ("loud", "booming", "brash", "boisterous", "shouting", "exuberant", "animated", "exclamatory", "rousing",
               "theatrical", "expansive", "emphatic", "bright enthusiasm", "breathless", "drumbeat")
_QUIET_VOICE = ("hushed", "whisper", "murmur", "soft-spoken", "laconic", "terse", "reserved", "timid", "soft trailing")
_COLD_VOICE = ("icy", "prickly", "sardonic", "blunt impatience", "cool reserve", "sneer", "contempt", "guarded")
_WARM_VOICE = ("tender", "nurturing", "affectionate", "bright enthusiasm", "rousing good cheer", "warm and coaxing",
               "gushing", "sunny")
_GLUM_VOICE = ("melancholy", "melancholic", "brooding", "gloomy", "solemn", "weary", "morose", "dour", "wistful")
_CHEERY_VOICE = ("exuberant", "bright enthusiasm", "rousing good cheer", "bubbly", "sunny", "jolly", "playful")
BRIEF_TRAITS = {
    "shy": {
        "cues": r"shy|timid|bashful|introvert(?:ed)?|withdrawn|reclusive|self-effacing|soft-spoken|quiet|reserved",
        "ambiguous": ("quiet", "reserved"),
        "big_five": {"extraversion": (0.08, 0.35)}, "energy": (0.0, 0.45), "unlike": ("recognition",),
        "tones": (("shy warmth", 0.2, 0.7), ("timid courtesy", 0.2, 0.55), ("quiet melancholy", 0.15, 0.5),
                  ("hesitant tenderness", 0.2, 0.8)),
        "phrases": ("Oh, sorry, I didn't mean to interrupt.", "I'd rather listen, if that's all right.",
                    "Um. Only if you don't mind me saying."),
        "clashes": _LOUD_VOICE,
    },
    "loud": {
        "cues": r"loud|boisterous|brash|booming|rowdy|outgoing|extroverted|extraverted|flamboyant|larger-than-life|"
                r"talkative|chatty|gregarious|bombastic",
        "ambiguous": ("loud",),
        "big_five": {"extraversion": (0.65, 0.92)}, "energy": (0.55, 1.0), "unlike": ("quiet",),
        "tones": (("rousing good cheer", 0.9, 0.8), ("booming bonhomie", 0.9, 0.7), ("brash good humour", 0.85, 0.55)),
        "phrases": ("Ha! Now we're talking!", "Speak up, the whole street wants to hear this!",
                    "Life's too short to whisper, friend."),
        "clashes": _QUIET_VOICE,
    },
    "apologetic": {
        "cues": r"apolog\w*|says sorry|saying sorry|say sorry|remorse\w*|contrite|regretful|guilt-ridden|"
                r"guilty|penitent|repentant|self-reproach\w*",
        "big_five": {"agreeableness": (0.62, 0.92), "neuroticism": (0.56, 0.9), "extraversion": (0.08, 0.55)},
        "energy": (0.0, 0.55), "unlike": ("recognition", "freedom"),
        "wounds": ("broke a promise", "covered for", "was hurt"),
        "tones": (("apologetic", 0.3, 0.75), ("contrite tenderness", 0.25, 0.8), ("sheepish, apologetic warmth", 0.3, 0.75)),
        "phrases": ("Sorry, that's my fault, isn't it?", "Forgive me, I've gone and done it again.",
                    "I'm so sorry. I should have said something sooner.", "Oh, I do apologise, where are my manners?"),
        "must_say": ("sorry", "apolog", "forgive", "my fault", "pardon"),
        "clashes": ("exuberant", "brash", "boisterous", "sardonic", "prickly", "blunt impatience", "icy", "swagger",
                    "exclamatory", "rousing", "mischievous", "sly", "fierce"),
    },
    "anxious": {
        "cues": r"anxious|nervous|jittery|jumpy|worried|worrier|worries|fretful|fretting|high-strung|neurotic|"
                r"skittish|insecure|panicky|twitchy",
        "big_five": {"neuroticism": (0.66, 0.92)}, 
        "tones": (("nervous earnestness", 0.5, 0.65), ("fretful politeness", 0.4, 0.6), ("jittery warmth", 0.55, 0.7)),
        "phrases": ("Are you sure? Sorry, are you absolutely sure?", "What if it all goes wrong, though?",
                    "I've checked it twice. Maybe three times."),
        "clashes": ("serene", "unflappable", "cool reserve", "breezy", "easy confidence", "swagger", "unhurried"),
    },
    "calm": {
        "cues": r"calm|serene|unflappable|placid|easygoing|easy-going|laid-back|tranquil|stoic|even-tempered",
        "ambiguous": ("calm",),
        "big_five": {"neuroticism": (0.08, 0.35)}, "energy": (0.0, 0.6), 
        "tones": (("serene", 0.15, 0.7), ("steady calm", 0.25, 0.6), ("unhurried patience", 0.2, 0.6)),
        "phrases": ("No rush. It'll keep.", "Sit a minute. The world can wait.", "Easy now, one breath at a time."),
        "clashes": ("frantic", "breathless", "jittery", "panick", "nervous", "anxious", "restless", "tumbling", "fretful"),
    },
    "warm": {
        "cues": r"warm|warm-hearted|warmhearted|kind|kindly|kind-hearted|kindhearted|gentle|caring|tender|affectionate|"
                r"motherly|fatherly|generous|sweet|nurturing|compassionate|big-hearted",
        "ambiguous": ("warm", "kind", "gentle", "sweet", "tender", "generous"),
        "big_five": {"agreeableness": (0.65, 0.92)}, "warmth": (0.55, 1.0), 
        "clashes": _COLD_VOICE,
    },
    "cold": {
        "cues": r"cold|aloof|icy|distant|detached|standoffish|unfriendly|haughty|cold-hearted|frosty|heartless|callous|"
                r"unfeeling",
        "ambiguous": ("cold", "icy", "distant", "detached", "frosty"),
        "big_five": {"agreeableness": (0.08, 0.4)}, "warmth": (0.0, 0.45), "unlike": ("care", "connection", "belonging"),
        "clashes": _WARM_VOICE,
    },
    "cheerful": {
        "cues": r"cheerful|jolly|upbeat|bubbly|chipper|optimistic|merry|jovial|happy-go-lucky|sunny|cheery",
        "ambiguous": ("sunny", "merry"),
        "big_five": {"neuroticism": (0.08, 0.4), "agreeableness": (0.55, 0.92)}, "warmth": (0.5, 1.0),
        "tones": (("bright enthusiasm", 0.85, 0.8), ("sunny good humour", 0.7, 0.8), ("hopeful", 0.6, 0.75)),
        "phrases": ("Chin up, it's a lovely day for it!", "Well, isn't that something!", "There's always a bright side, you just have to squint."),
        "clashes": _GLUM_VOICE + ("icy", "prickly", "sardonic"),
    },
    "grumpy": {
        "cues": r"grumpy|grouchy|surly|cantankerous|curmudgeon\w*|crabby|irritable|gruff|crotchety|bad-tempered|"
                r"ill-tempered|cranky|prickly|sour|bitter|cynical",
        "ambiguous": ("sour", "bitter"),
        "big_five": {"agreeableness": (0.08, 0.35)}, "warmth": (0.0, 0.45), 
        "tones": (("gruff impatience", 0.55, 0.25), ("prickly", 0.55, 0.15), ("sardonic", 0.5, 0.2), ("dry grumbling", 0.4, 0.3)),
        "phrases": ("Hmph. In my day we fixed things ourselves.", "Don't push your luck.", "Fine. But I'm not happy about it."),
        "clashes": _CHEERY_VOICE + ("tender", "nurturing", "affectionate"),
    },
    "melancholy": {
        "cues": r"melancholy|melancholic|gloomy|sad|sorrowful|mournful|morose|despondent|brooding|heartbroken|grieving|"
                r"downcast|forlorn",
        "ambiguous": ("sad",),
        "big_five": {"neuroticism": (0.55, 0.9)}, "energy": (0.0, 0.55), 
        "tones": (("quiet melancholy", 0.15, 0.5), ("wistful", 0.25, 0.6), ("melancholic humour", 0.4, 0.55)),
        "clashes": _CHEERY_VOICE,
    },
    "meticulous": {
        "cues": r"meticulous|fastidious|punctual|orderly|organi[sz]ed|disciplined|precise|perfectionist|pedantic|fussy",
        "ambiguous": ("precise", "orderly"),
        "big_five": {"conscientiousness": (0.68, 0.92)}, "unlike": ("freedom",),
    },
    "chaotic": {
        "cues": r"messy|chaotic|disorgani[sz]ed|scatterbrained|scatter-brained|absent-minded|careless|reckless|forgetful",
        "big_five": {"conscientiousness": (0.08, 0.4)}, "unlike": ("safety",),
    },
    "curious": {
        "cues": r"curious|inquisitive|imaginative|adventurous|dreamy|inventive",
        "big_five": {"openness": (0.65, 0.92)}, 
    },
}
# Words that undo the trait word after them ("not shy", "never loud", "no longer bitter").
TRAIT_NEGATIONS = frozenset("not never no hardly barely isn't wasn't aren't isnt wasnt longer".split())
# Words before a trait word that say it is someone else's ("her shy daughter", "whose grumpy cat").
TRAIT_OWNERS = frozenset("whose his her their my your its".split())
# Words before an ambiguous trait word that say it describes the persona ("is cold", "very warm").
TRAIT_PREDICATES = frozenset("is was are were seems seemed looks looked feels felt becomes became gets got very so too "
                             "rather quite always often painfully terribly deeply famously fiercely utterly".split())
# Explicit pronouns a brief may give: "she/her", "(he/him)", "pronouns: they".
PRONOUN_SETS = {"f": ("she", "her", "hers", "herself"), "m": ("he", "him", "his", "himself"),
                "n": ("they", "them", "their", "themselves")}

# Values grouped into families; a value "echoes" a soul when one of its family's cue stems appears in it.
VALUE_FAMILIES = {
    "belonging": (("belonging", "loyalty", "hospitality", "community"),
                  ("belong", "home", "table", "family", "together", "welcom", "kin", "neighbo", "communit", "loyal")),
    "freedom": (("freedom", "independence", "self-reliance", "adventure"),
                ("free", "leave", "road", "own terms", "independen", "escape", "horizon", "wander", "permission")),
    "recognition": (("recognition", "excellence", "ambition", "mastery"),
                    ("recogni", "admire", "name", "applause", "prove", "best", "master", "praise", "celebrat")),
    "safety": (("security", "order", "prudence", "stability"),
               ("safe", "control", "order", "certain", "steady", "secur", "guard", "protect", "warning")),
    "truth": (("honesty", "truth", "justice", "integrity"),
              ("truth", "true", "honest", "lie", "justice", "fair", "secret", "confess", "fraud")),
    "care": (("compassion", "kindness", "devotion", "care"),
             ("care", "heal", "help", "tend", "kind", "look after", "gentle", "nurs", "comfort")),
    "meaning": (("curiosity", "wonder", "learning", "imagination"),
                ("understand", "learn", "curious", "question", "wonder", "map", "discover", "story", "know")),
    "legacy": (("legacy", "tradition", "memory", "duty"),
               ("remember", "memory", "legacy", "tradition", "inherit", "past", "promise", "pass on", "finish")),
    "quiet": (("solitude", "simplicity", "patience", "humility"),
              ("quiet", "ordinary", "alone", "simple", "unnoticed", "slow", "patien", "peace", "calm", "small")),
    "connection": (("intimacy", "trust", "tenderness", "openness"),
                   ("trust", "love", "close", "known", "intima", "open", "understood", "someone", "tender")),
    "creation": (("creativity", "beauty", "craftsmanship", "expression"),
                 ("make", "build", "creat", "beaut", "song", "paint", "craft", "write", "shape")),
}
VALUE_FAMILY_OF = {value: family for family, (values, _) in VALUE_FAMILIES.items() for value in values}

# (template, value family). Each template carries at least one cue of its family.
DESIRES = (
    ("to belong somewhere for good: a table in {place} where a chair is kept for them and nobody asks them to earn it", "belonging"),
    ("to be welcomed home by the family that once closed the door on them, and to bring the {n} with them when they go", "belonging"),
    ("to build a community around the {n}, so that nobody in {place} has to eat alone on a Sunday", "belonging"),
    ("to stay loyal to the street they grew up on in {place}, and to be the neighbour who keeps the {n} alive for everyone", "belonging"),
    ("to live on their own terms, free of the debts {rel} left behind, with nothing but the {n} and an open road", "freedom"),
    ("to leave {place} one day without asking permission, and find out who they are where nobody has heard of the {n}", "freedom"),
    ("to answer to no one and run the {n} their own way, free of every boss they have ever had, even if it means doing it alone", "freedom"),
    ("to be recognised at last for the {n}, and to hear their own name said aloud in a room that once ignored them", "recognition"),
    ("to be admired by the people of {place} who laughed when they first took up the {n}", "recognition"),
    ("to be celebrated as the best at the {n}, not liked but admired, before {rel} is too old to watch", "recognition"),
    ("to master the {n} so completely that nobody can ever again call them a beginner who got lucky", "recognition"),
    ("to make the {n} so orderly and secure that nothing can ever again arrive without warning", "safety"),
    ("to keep {rel} safe whatever it costs, and to guard the {n} as the last steady thing in {place}", "safety"),
    ("to tell the truth about the {n}, the whole of it, including the part {rel} made them promise to keep secret", "truth"),
    ("to see justice done for what happened in {place}, even if the only honest witness left is them", "truth"),
    ("to heal what can still be healed in {place}, one person and one {n} at a time", "care"),
    ("to look after {rel} the way nobody looked after them, with a gentle care they had to teach themselves", "care"),
    ("to help every stranger who walks into the {n} feel, for one evening, that someone is kind to them on purpose", "care"),
    ("to understand why the {n} matters so much to them, and to learn it properly before it is too late", "meaning"),
    ("to discover what lies past the edge of every map of {place}, and come back with a story worth the trip", "meaning"),
    ("to keep the memory of {rel} alive through the {n}, and to pass the tradition on to someone who will keep it", "legacy"),
    ("to finish what {rel} started with the {n}, and keep the promise made on the last night they spoke", "legacy"),
    ("to be seen as ordinary, to keep the {n} going in {place} without anyone asking who they used to be", "quiet"),
    ("to live a quiet life, unnoticed, tending the {n} while the rest of {place} forgets their old name", "quiet"),
    ("to blend in so completely in {place} that the old stories about them lose their grip, leaving only the {n}", "quiet"),
    ("to be truly known by one person, to trust someone enough to show them the {n} and what it costs them", "connection"),
    ("to love {rel} openly and out loud, after years of saying it only through the {n}", "connection"),
    ("to be understood without having to explain the {n}, just once, by someone who stays", "connection"),
    ("to make one beautiful thing out of the {n} that outlives them, something {place} will pass from hand to hand", "creation"),
    ("to write a song about the {n} that sounds unmistakably like them, and hear strangers in {place} hum it", "creation"),
    ("to build something with their own hands from the {n} that {rel} would have been proud to put their name on", "creation"),
)
FEARS = (
    "being found out as a fraud by the people who trusted them with the {n}",
    "losing control the way {rel} did, and watching everything they built slide into chaos",
    "being abandoned again: coming home to find the lights off and the {n} gone",
    "dying unremembered, the {n} thrown out with the rest of their things",
    "becoming {rel}: the same temper, the same silence at the dinner table",
    "that the quiet they love is only loneliness with better manners",
    "that the truth about {place} will come out and take the {n} with it",
    "being needed by no one once the {n} no longer needs them",
    "that one day they will have to choose between {rel} and the {n}, and choose wrong",
    "small failures piling up, a missed date, a broken promise, because that is how it started last time",
    "failing in public, in front of everyone in {place} who said they would",
    "being trapped in {place} for the rest of their life, one more year at a time",
    "that love, once spoken aloud, will be used against them",
    "that they are only worth something for as long as they are useful",
    "forgetting: faces first, then names, then why the {n} ever mattered",
    "losing their certainty about right and wrong, the way they lost it once already",
    "that the people they help will see how much they need to be needed",
    "a knock on the door after midnight, the sound that opened the worst night of their life",
    "being pitied, more than being hated",
    "that {rel} was right about them all along",
    "deep water, crowded rooms and anything else they cannot leave quickly",
    "that the {n} will outlast their usefulness and nobody will notice either",
    "telling the truth and losing the only people who stayed",
    "being ordinary after all, with nothing to show for the years spent on the {n}",
    "hospitals, paperwork and every other place where their life is decided by strangers",
)
WOUNDS = (
    "{Age}, {rel} left {place} without a word, leaving only {thing} and a debt nobody explained",
    "{Age} they were blamed for a fire at the {n} that they did not start, and nobody ever took it back",
    "{rel} sold the family's {n} {age} to cover a gambling debt, and told everyone it had been their idea",
    "{Age} they won a prize for the {n} and came home to find nobody had noticed they were gone",
    "a flood {age} took the house in {place} and, with it, {thing}",
    "they were the one who found {rel} {age}, and they have never told anyone what they saw",
    "{Age} a teacher read their private notebook aloud to the class, and the laughter never quite stopped",
    "they broke a promise to {rel} {age}, and the chance to make it right never came",
    "the business {rel} built around the {n} collapsed {age}, while the neighbours in {place} watched",
    "{Age} they were sent to live with strangers in another city, allowed to take only {thing}",
    "{Age} they covered for {rel}'s lie, and the wrong person paid for it",
    "an engagement ended {age}, by letter, two days before the wedding in {place}",
    "{Age} they were told they had no talent for the {n} by the one person whose opinion mattered",
    "they lost their savings and their best friend in the same week {age}, to the same scheme",
    "{Age} they waited all night at the station in {place} for {rel}, who never came",
    "{rel} was deported {age}, and the family in {place} never spoke of it again",
    "{Age} an accident at the {n} left a scar they still hide and a guilt they cannot place",
    "they were the favourite until {age}, when a younger sibling arrived and they became the helper",
    "{Age} they were fired in front of everyone, for a mistake that was not theirs",
    "{Age} they stopped speaking for a whole year after {rel} died, and nobody asked why",
    "{Age} they gave up a place at a school far from {place} to look after {rel}",
    "a house fire {age} destroyed everything except {thing}",
    "{Age} a friend they trusted with a secret about the {n} sold it to a rival",
    "they were left in charge of a younger cousin {age}, and the cousin was hurt",
)
ARCS = (
    "from guarding the {n} alone to teaching someone else to keep it, learning that sharing is not losing",
    "from hiding in {place} to standing up once, publicly, for someone who cannot",
    "from needing to be admired to being content to be useful, one honest conversation at a time",
    "from controlling every detail to trusting {rel}'s memory with something that matters",
    "from silence about what happened {age} to telling the story, first to a stranger, then to family",
    "from running from {place} to choosing to stay, and rebuilding the {n} with their own hands",
    "from keeping score to forgiving {rel}, without pretending it did not happen",
    "from performing strength to asking for help, and discovering people stay anyway",
    "from loving the {n} more than people to letting people into the {n}",
    "from waiting for permission to giving it to themselves, late but not too late",
    "from treating kindness as a debt to accepting it as a gift",
    "from living in the past of {place} to making one new tradition of their own",
    "from suspicion of everyone new to taking in one stranger and being changed by it",
    "from perfectionism to finishing something imperfect and letting it be seen",
    "from carrying {rel}'s expectations to naming what they themselves want, out loud",
    "from hoarding the truth to telling it, and paying what it costs",
    "from loneliness mistaken for independence to a friendship that asks something of them",
    "from fearing change to leading the change at the {n}, clumsily and on purpose",
    "from rage at {place} to a clear-eyed love of it, faults included",
    "from doing everything alone to building a small crew around the {n}",
    "from mourning the life they did not get to tending the one they have",
    "from proving themselves to the world to proving nothing to anyone, and resting",
)
RELATIONS = (
    "their father", "their mother", "an older brother", "a younger sister", "their grandmother", "their grandfather",
    "a first mentor", "their oldest friend", "an uncle they idolised", "a business partner", "their first love",
    "a stepfather", "an aunt who raised them", "a twin", "their former teacher", "a godmother",
)
AGES = (
    "at nine", "at eleven", "the winter they turned twelve", "at fifteen", "the summer they were seventeen",
    "at nineteen", "at twenty-three", "in their first year of school", "at thirty", "the year they turned forty",
    "at fourteen", "the spring they were twenty",
)
THINGS = (
    "a dented biscuit tin of letters", "a wristwatch stopped at ten past four", "a recipe card in a language they could not yet read",
    "a red wool scarf", "a box of unsent postcards", "a chipped blue cup", "a photograph with one face torn out",
    "a folding pocket knife", "a cassette with a single song on it", "a ring too big for any of their fingers",
    "a ledger full of other people's debts", "a key to a door that no longer exists", "a brass compass that points slightly wrong",
    "a child's drawing of a house", "a radio that only gets one station",
)
# Generic stand-ins for a soul with nothing to say: what the audit's depth check recognises as shallow.
SHALLOW = {
    "desire": ("to be happy", "to succeed", "to find love"),
    "fear": ("failure", "being alone", "the unknown"),
    "wound": ("a hard childhood", "a difficult past", "a bad breakup"),
    "growth_arc": ("learns to grow", "becomes better", "finds themselves"),
}
GENERIC_PHRASES = (
    "it is what it is", "at the end of the day", "everything happens for a reason", "just be yourself",
    "follow your dreams", "live, laugh, love", "no pain, no gain", "think outside the box", "you only live once",
    "stay positive", "hello there", "nice to meet you", "whatever works", "that's life", "good vibes only",
)

# (name, (openness, conscientiousness, extraversion, agreeableness, neuroticism), value family)
ARCHETYPES = (
    ("the Caregiver", (0.5, 0.65, 0.5, 0.85, 0.5), "care"), ("the Sage", (0.85, 0.6, 0.3, 0.55, 0.35), "meaning"),
    ("the Explorer", (0.85, 0.4, 0.6, 0.5, 0.35), "freedom"), ("the Rebel", (0.7, 0.3, 0.6, 0.3, 0.55), "freedom"),
    ("the Hermit", (0.6, 0.6, 0.15, 0.45, 0.45), "quiet"), ("the Jester", (0.7, 0.3, 0.85, 0.7, 0.4), "connection"),
    ("the Guardian", (0.35, 0.85, 0.45, 0.65, 0.45), "safety"), ("the Keeper of Records", (0.55, 0.85, 0.25, 0.55, 0.4), "legacy"),
    ("the Artisan", (0.7, 0.75, 0.35, 0.55, 0.4), "creation"), ("the Lover", (0.65, 0.45, 0.65, 0.8, 0.6), "connection"),
    ("the Ruler", (0.4, 0.85, 0.7, 0.35, 0.35), "safety"), ("the Orphan", (0.5, 0.45, 0.4, 0.6, 0.7), "belonging"),
    ("the Innocent", (0.55, 0.5, 0.55, 0.85, 0.35), "belonging"), ("the Magician", (0.9, 0.55, 0.55, 0.5, 0.4), "creation"),
    ("the Outlaw", (0.6, 0.25, 0.55, 0.25, 0.6), "freedom"), ("the Hero", (0.5, 0.7, 0.7, 0.55, 0.3), "recognition"),
    ("the Mentor", (0.65, 0.7, 0.5, 0.75, 0.3), "legacy"), ("the Witness", (0.6, 0.65, 0.3, 0.55, 0.55), "truth"),
    ("the Trickster", (0.8, 0.3, 0.7, 0.4, 0.45), "freedom"), ("the Martyr", (0.45, 0.7, 0.35, 0.85, 0.7), "care"),
    ("the Wanderer", (0.8, 0.35, 0.45, 0.55, 0.45), "freedom"), ("the Healer", (0.6, 0.65, 0.45, 0.85, 0.4), "care"),
    ("the Perfectionist", (0.45, 0.9, 0.4, 0.45, 0.65), "safety"), ("the Host", (0.55, 0.6, 0.8, 0.8, 0.35), "belonging"),
    ("the Night Watch", (0.4, 0.8, 0.2, 0.5, 0.5), "safety"), ("the Dreamer", (0.9, 0.3, 0.4, 0.7, 0.6), "meaning"),
    ("the Reluctant Leader", (0.55, 0.7, 0.4, 0.65, 0.55), "legacy"), ("the Performer", (0.75, 0.5, 0.9, 0.55, 0.55), "recognition"),
    ("the Survivor", (0.5, 0.7, 0.4, 0.45, 0.5), "safety"), ("the Idealist", (0.85, 0.6, 0.55, 0.7, 0.5), "truth"),
    ("the Cynic", (0.6, 0.5, 0.4, 0.25, 0.5), "truth"), ("the Confidant", (0.6, 0.6, 0.35, 0.8, 0.4), "connection"),
    ("the Craftsperson", (0.55, 0.85, 0.3, 0.55, 0.35), "creation"), ("the Storyteller", (0.85, 0.45, 0.7, 0.7, 0.4), "meaning"),
    ("the Exile", (0.65, 0.5, 0.3, 0.5, 0.65), "belonging"), ("the Peacemaker", (0.55, 0.6, 0.5, 0.9, 0.35), "connection"),
    ("the Challenger", (0.55, 0.6, 0.75, 0.3, 0.4), "recognition"), ("the Scholar", (0.9, 0.75, 0.25, 0.5, 0.4), "meaning"),
    ("the Steward", (0.45, 0.85, 0.4, 0.7, 0.35), "legacy"), ("the Seeker", (0.85, 0.45, 0.45, 0.6, 0.55), "meaning"),
)
ARCHETYPE_PROFILE = {name.lower(): profile for name, profile, _ in ARCHETYPES}

# Voice parts as (text, energy 0..1); registers also carry formality 0..1.
REGISTERS = (
    ("plain-spoken and direct", 0.4, 0.5), ("formal, slightly old-fashioned", 0.85, 0.35), ("wry and colloquial", 0.3, 0.55),
    ("precise and technical", 0.75, 0.4), ("lyrical, full of images", 0.55, 0.5), ("clipped and professional", 0.8, 0.35),
    ("gentle and informal", 0.25, 0.3), ("street-smart and quick", 0.15, 0.75), ("courteous and measured", 0.7, 0.25),
    ("folksy, full of sayings", 0.2, 0.55), ("academic but warm", 0.75, 0.45), ("playful and teasing", 0.2, 0.8),
    ("hushed and confiding", 0.35, 0.1), ("brisk and practical", 0.5, 0.6), ("ceremonious", 0.9, 0.45),
    ("blunt, working-class", 0.2, 0.6), ("soft-spoken and careful", 0.5, 0.15), ("theatrical and expansive", 0.45, 0.9),
    ("dry and understated", 0.6, 0.2), ("earnest and plain", 0.45, 0.45), ("animated and exclamatory", 0.25, 0.9),
    ("bookish and digressive", 0.6, 0.4), ("laconic", 0.4, 0.1), ("warm and coaxing", 0.3, 0.55),
    ("exuberant and rousing", 0.3, 0.95), ("reserved and polite", 0.7, 0.15), ("salty dockside slang", 0.1, 0.7),
    ("deliberate and teacherly", 0.65, 0.3),
)
RHYTHMS = (
    ("short sentences, long pauses", 0.15), ("rapid, tumbling clauses", 0.85), ("unhurried, circling back to the point", 0.3),
    ("staccato bursts", 0.75), ("long winding sentences that land softly", 0.35), ("question after question", 0.65),
    ("measured, one thought at a time", 0.25), ("sing-song, rising at the ends", 0.7), ("fragments, then a sudden full sentence", 0.45),
    ("steady and even, like a metronome", 0.35), ("breathless run-ons when excited", 0.85), ("slow, with weighted silences", 0.1),
    ("quick call-and-response", 0.8), ("lists of three, always", 0.5), ("halting and self-correcting", 0.3),
    ("easy conversational lilt", 0.55), ("terse one-liners", 0.2), ("rolling storyteller's cadence", 0.6),
    ("brisk, clipped instructions", 0.55), ("murmured asides", 0.1), ("emphatic, with drumbeat repetition", 0.9),
    ("patient explanatory paragraphs", 0.35), ("darting tangents", 0.7), ("soft trailing endings", 0.15),
)
TONES = (  # (tone, energy, warmth)
    ("dry warmth", 0.35, 0.65), ("gentle irony", 0.4, 0.55), ("quiet melancholy", 0.15, 0.5), ("bright enthusiasm", 0.85, 0.8),
    ("stern kindness", 0.45, 0.6), ("weary patience", 0.25, 0.55), ("mischievous", 0.75, 0.55), ("tender", 0.3, 0.9),
    ("guarded", 0.25, 0.3), ("sardonic", 0.5, 0.2), ("hopeful", 0.6, 0.75), ("brooding", 0.2, 0.3),
    ("matter-of-fact", 0.45, 0.45), ("wistful", 0.25, 0.6), ("fierce", 0.75, 0.4), ("serene", 0.15, 0.7),
    ("affectionate teasing", 0.7, 0.8), ("solemn", 0.2, 0.45), ("exuberant", 0.95, 0.75), ("wary courtesy", 0.3, 0.4),
    ("playful", 0.8, 0.7), ("deadpan", 0.3, 0.35), ("earnest", 0.5, 0.7), ("restless", 0.7, 0.45), ("sly", 0.55, 0.3),
    ("nurturing", 0.45, 0.95), ("melancholic humour", 0.4, 0.55), ("cool reserve", 0.2, 0.2), ("rousing good cheer", 0.9, 0.8),
    ("prickly", 0.55, 0.15), ("blunt impatience", 0.65, 0.2), ("icy politeness", 0.3, 0.1),
)
# Energy cues for reading any voice description, generated or not (the audit's voice/extraversion check).
HIGH_ENERGY = ("loud", "booming", "brash", "boisterous", "shouting", "exuberant", "animated", "exclamatory", "rapid",
               "tumbling", "breathless", "rousing", "theatrical", "expansive", "emphatic", "drumbeat", "bright",
               "enthusias", "playful", "teasing", "staccato", "fierce", "restless", "lively", "bubbly")
LOW_ENERGY = ("hushed", "soft", "quiet", "measured", "murmur", "whisper", "laconic", "terse", "reserved", "slow",
              "pauses", "silence", "understated", "serene", "solemn", "brooding", "guarded", "melancholy", "trailing",
              "unhurried", "careful", "wistful", "restrained", "cool")
GENERIC_VOICE = ("normal", "neutral", "casual", "friendly", "standard", "average", "regular", "default")
VOCABULARY_FLAVOURS = (
    "weather idioms", "kitchen metaphors", "old proverbs", "trade jargon", "nautical terms", "church Latin half-remembered",
    "football slang", "bookkeeping terms", "gardening words", "radio-operator shorthand", "old-fashioned endearments",
    "precise numbers", "musical terms", "medical shorthand", "card-game expressions", "railway slang", "folk sayings",
    "legal phrasing", "street slang from their youth", "map and compass words", "tailoring terms", "bird names",
)

SIGNATURE_PHRASES = (
    "The {n} doesn't care who's watching.", "Slowly. Nobody ever fixed a {n} in a hurry.", "Tell me the part you left out.",
    "We'll sort it out over coffee.", "In {place}, we say it once and mean it.", "That's a {n} problem, not a you problem.",
    "Write it down or it didn't happen.", "Everyone gets one more chance. Just the one.", "Come in, sit, you're letting the cold in.",
    "Well, that's one way to do it.", "Ask the {n}; it remembers more than I do.", "Hands first, opinions later.",
    "If it's worth saying, it's worth saying twice.", "Don't thank me. Bring it back in one piece.",
    "There's always room for one more at the table.", "Let's not make a saint of it.", "I've seen worse. Not much worse.",
    "Breathe. Then we'll talk.", "The weather will decide, not you and not me.", "You can't rush {value}.",
    "Every {n} has a story; most of them are lies.", "Good. Again.", "Now, where were we before the world interrupted?",
    "I'll believe it when the {n} believes it.", "Small steps. Smaller than that.",
    "Nobody's coming to save us, so let's get on with it.", "Honestly? I'd have done the same.",
    "Keep your voice down; the walls in {place} listen.", "One thing at a time, and the {n} first.", "Tea first, then the truth.",
    "That's the trouble with {value}: it costs.", "Leave it better than you found it.", "Don't tell me. Show me.",
    "We don't do 'later' here.", "There it is. I knew you had it in you.", "I'm not angry; I'm taking notes.",
    "Let the {n} settle before you judge it.", "Count to ten. Then count again.", "Trust the hands, not the mouth.",
    "Funny how the {n} always knows.", "Ah, {place}. It never lets you leave, not really.", "A promise is a debt, nothing prettier.",
    "Go on, then. Surprise me.", "The answer's in the margins, as usual.", "You'll laugh about this. Not today.",
    "Right. Kettle on.", "Mind the {n}; it bites.", "Say it plainly and I'll listen plainly.",
)
SOCIAL_ROLES = (
    ("the neighbour everyone leaves their keys with", 0.4), ("the reluctant mentor of the night shift", 0.35),
    ("the unofficial historian of {place}", 0.3), ("the one who organises the street party", 0.85),
    ("the quiet fixer behind the counter", 0.2), ("the friend who drives you to the hospital at 3 a.m.", 0.45),
    ("the local skeptic at every meeting", 0.55), ("the life of the late-night table", 0.9),
    ("the go-between in every family feud", 0.6), ("the regular who knows every bartender's name", 0.75),
    ("the hard-to-impress judge at the market", 0.5), ("the first to volunteer and the last to leave", 0.7),
    ("the person strangers ask for directions", 0.5), ("the peacekeeper at family dinners", 0.55),
    ("the troublemaker the old guard secretly admires", 0.75), ("the confidant of the apprentices", 0.4),
    ("the storyteller at the end of the bar", 0.8), ("the watcher in the corner booth", 0.15),
    ("the organiser of the community garden", 0.65), ("the fixer of other people's broken radios", 0.25),
    ("the voice on the local radio at dawn", 0.7), ("the elder the young ones argue with", 0.5),
    ("the keeper of the spare room", 0.35), ("the one who remembers everyone's birthday", 0.6),
)

# (title, youngest plausible age, oldest plausible age)
OCCUPATIONS = (
    ("lighthouse keeper", 25, 80), ("night-shift nurse", 22, 65), ("ferry mechanic", 19, 68), ("bakery owner", 24, 78),
    ("secondhand bookseller", 20, 85), ("piano tuner", 22, 85), ("tram driver", 21, 65), ("street-food cook", 17, 70),
    ("translator", 22, 80), ("radio host", 20, 75), ("postal worker", 18, 66), ("locksmith", 19, 75),
    ("museum night guard", 20, 70), ("cartographer", 24, 80), ("beekeeper", 18, 85), ("tailor", 18, 85),
    ("schoolteacher", 22, 67), ("court stenographer", 21, 66), ("marine biologist", 24, 70), ("taxi driver", 21, 75),
    ("wedding photographer", 19, 70), ("hospice volunteer", 18, 85), ("florist", 18, 80), ("ceramicist", 18, 85),
    ("sound engineer", 19, 70), ("private investigator", 24, 75), ("archivist", 23, 75), ("fishmonger", 16, 80),
    ("cobbler", 17, 85), ("bus dispatcher", 20, 66), ("chess coach", 16, 90), ("dockworker", 18, 62),
    ("pharmacist", 24, 70), ("hotel concierge", 20, 70), ("bartender", 18, 72), ("stage manager", 20, 68),
    ("vineyard hand", 16, 72), ("watchmaker", 20, 88), ("boarding-house owner", 28, 85), ("veterinary nurse", 19, 65),
    ("market-stall trader", 16, 85), ("violin teacher", 20, 85), ("forest ranger", 21, 65), ("glassblower", 18, 80),
    ("ambulance driver", 21, 62), ("crossword setter", 20, 90), ("cinema projectionist", 18, 85), ("tea-house owner", 25, 85),
    ("midwife", 23, 68), ("bicycle courier", 16, 45), ("antiques restorer", 20, 85), ("newspaper proofreader", 20, 75),
    ("community organiser", 19, 80), ("ice-cream van driver", 18, 75), ("ferry captain", 28, 72), ("hairdresser", 17, 75),
)
# Occupation words a brief may name, with a plausible age range for them.
OCCUPATION_WORDS = {
    "keeper": (25, 80), "baker": (18, 78), "nurse": (22, 66), "detective": (26, 68), "teacher": (22, 67),
    "chef": (20, 70), "cook": (17, 75), "driver": (21, 72), "doctor": (26, 75), "surgeon": (29, 70),
    "pilot": (22, 65), "sailor": (17, 70), "fisherman": (16, 80), "fisher": (16, 80), "farmer": (16, 85),
    "writer": (18, 90), "poet": (16, 95), "painter": (16, 95), "musician": (16, 90), "singer": (16, 85),
    "student": (17, 28), "librarian": (22, 70), "mechanic": (18, 70), "carpenter": (17, 75), "soldier": (18, 50),
    "veteran": (25, 100), "priest": (26, 90), "nun": (22, 95), "monk": (20, 95), "barista": (17, 45),
    "bartender": (18, 72), "tailor": (18, 85), "florist": (18, 80), "programmer": (17, 70), "engineer": (22, 70),
    "scientist": (23, 80), "journalist": (21, 75), "photographer": (17, 85), "lawyer": (25, 78), "judge": (38, 85),
    "actor": (16, 90), "actress": (16, 90), "dancer": (16, 60), "witch": (16, 110), "wizard": (20, 110),
    "knight": (18, 65), "captain": (27, 75), "spy": (22, 70), "thief": (15, 70), "smuggler": (17, 70),
    "courier": (16, 60), "guide": (18, 75), "midwife": (23, 70), "gardener": (16, 85), "beekeeper": (18, 85),
    "shepherd": (14, 85), "miner": (18, 62), "clerk": (18, 68), "cashier": (16, 70), "waiter": (16, 70),
    "waitress": (16, 70), "hairdresser": (17, 75), "barber": (17, 85), "janitor": (18, 75), "guard": (19, 70),
    "firefighter": (19, 60), "paramedic": (20, 62), "pharmacist": (24, 70), "astronaut": (27, 60),
    "archivist": (23, 75), "historian": (23, 90), "professor": (32, 85), "therapist": (27, 80), "counsellor": (24, 78),
    "counselor": (24, 78), "coach": (20, 80), "boxer": (17, 40), "jeweller": (19, 85), "jeweler": (19, 85),
    "watchmaker": (20, 88), "locksmith": (19, 75), "plumber": (18, 70), "electrician": (18, 70),
    "cartographer": (24, 80), "translator": (22, 80), "bookseller": (18, 85), "potter": (17, 90),
    "glassblower": (18, 80), "blacksmith": (17, 75), "innkeeper": (24, 85), "shopkeeper": (18, 85),
    "grocer": (18, 85), "butcher": (18, 75), "fishmonger": (16, 80), "mayor": (30, 80), "courtesan": (18, 60),
    "healer": (18, 95), "hunter": (16, 75), "ranger": (21, 65), "navigator": (22, 70), "diplomat": (28, 80),
    "curator": (26, 80), "organist": (16, 95), "conductor": (25, 90), "vet": (25, 70), "veterinarian": (25, 70),
    "sommelier": (22, 75), "illustrator": (16, 90), "architect": (24, 85), "accountant": (21, 70),
}
# Age ranges the audit expects for occupation keywords (realism check).
OCCUPATION_AGE_RULES = (
    ("retired", 55, 110), ("senior", 35, 90), ("chief", 32, 85), ("head ", 28, 85), ("professor", 30, 95),
    ("surgeon", 28, 75), ("judge", 35, 90), ("student", 15, 45), ("apprentice", 14, 35), ("intern", 16, 40),
    ("veteran", 24, 105), ("captain", 25, 80), ("partner", 28, 85), ("director", 28, 85), ("founder", 18, 95),
)
SENIOR_OCCUPATIONS = (  # for the "implausible age" weak draft: plausible titles given an implausible age
    "senior partner at a small law firm", "chief of cardiology", "head of the city archive", "retired harbour pilot",
    "senior curator of the maritime museum", "chief engineer on a cargo line",
)

APPEARANCE_LOOKS = (
    "close-cropped grey hair", "a braid that reaches the middle of the back", "freckles that darken every summer",
    "a crooked nose, broken once and never set", "deep laugh lines", "heavy-lidded, watchful eyes",
    "a scar through one eyebrow", "black curls kept under a patterned scarf", "silver-rimmed glasses pushed up into the hair",
    "a gap-toothed smile", "weathered, sun-browned skin", "hair dyed a defiant copper", "a sharp jaw and a widow's peak",
    "cheeks permanently flushed from the cold", "a long, solemn face that surprises everyone when it laughs",
    "prematurely white hair", "ears that stick out and a grin to match", "a face scrubbed pink every morning",
)
APPEARANCE_CLOTHES = (
    "a navy work jacket with the sleeves rolled", "a cardigan with mismatched buttons", "a pressed white shirt, always",
    "paint-spattered boots", "a faded football scarf from a club that no longer exists", "a linen apron with a burn mark on the pocket",
    "a good wool coat bought second-hand", "rubber boots and a yellow oilskin", "a thin gold chain with a small medal",
    "a watch worn on the inside of the wrist", "three silver rings on one hand", "a canvas tote full of library books",
    "a flat cap older than most of the neighbours", "bright trainers that do not match anything else", "an embroidered waistcoat",
)
APPEARANCE_HABITS = (
    "calloused fingertips", "a habit of tapping two fingers on the table while thinking", "a faint smell of coffee and engine oil",
    "a slight limp on cold mornings", "reading glasses on a cord", "a pencil always behind one ear", "hands that never stay still",
    "a way of standing with the weight on the back foot, ready to leave", "ink stains on the right hand",
    "a small tattoo of a swallow on the wrist, half hidden", "a laugh that arrives a second too late",
    "a habit of counting things under the breath",
)
APPEARANCE_BRIEF = (
    "a pocket notebook full of notes on the {n}", "a habit of bringing up the {n} with strangers",
    "a sudden brightness whenever someone mentions the {n}",
)

# Chat replies (no pipeline step in the prompt).
CHAT_ECHOES = (
    "You said \"{w}\", and that's the part I keep turning over.", "{W}? Now that's a word with some weight to it.",
    "So it's about {w}. It usually is.", "\"{w}\" — say more about that, I'm listening.",
    "{W}. I've had my share of that, believe me.", "Ah, {w}. We could talk about that all night.",
    "Let's start with {w}, then, and see where it takes us.", "{W} — not what I expected you to bring up, but I'm glad you did.",
)
CHAT_QUESTIONS = (
    "What made you think of it today?", "And what do you want to do about it?", "Who else knows?",
    "How long has that been sitting with you?", "What would you tell a friend who said the same thing?",
    "Where does it hurt most, if you had to point?", "What happened next?",
)
CHAT_GREETINGS = (
    "Hello yourself. Sit down, you look like you've come a long way.", "Oh, it's you. Good. I was hoping someone would drop by.",
    "Hello, hello. What brings you round?", "Evening. Or morning. I lose track. What can I do for you?",
)
CHAT_OPENERS = ("Well.", "Hm.", "Right.", "Oh, now.", "Listen.", "Ah.", "Go on.", "Huh.")


def fold(text: str) -> str:
    """Accents off ("São Paulo" → "Sao Paulo"), so places and names match however they are typed."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_PLACE = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted({*CITIES, *COUNTRIES}, key=len, reverse=True)) + r")\b", re.I)
# Also ordinary words or languages: only a place when capitalised.
_AMBIGUOUS_PLACES = frozenset("cork lima turkey china salvador english french indian american maine crete limerick nara".split())


def find_places(text: str) -> list[tuple[str, str, str]]:
    """The known places a text names, in order: (city or country, country, locale group)."""
    found = []
    for match in _PLACE.finditer(fold(text)):
        key = match.group(0).lower()
        if key in _AMBIGUOUS_PLACES and not match.group(0)[0].isupper():
            continue
        if key in CITIES:
            place = CITIES[key]
        else:
            country, group, _ = COUNTRIES[key]
            place = (country, country, group)
        if place not in found:
            found.append(place)
    return found
